import Foundation

/// The parts of a TensorFlow Lite model file that inference needs: the first subgraph's tensors and operators,
/// and the constant buffers.
///
/// Schema facts used (tensorflow/lite/schema/schema.fbs): Model fields are version(0), operator_codes(1),
/// subgraphs(2), description(3), buffers(4). OperatorCode: deprecated_builtin_code(0, byte), custom_code(1),
/// version(2), builtin_code(3, int); the operator is the larger of the two codes. SubGraph: tensors(0), inputs(1),
/// outputs(2), operators(3), name(4). Tensor: shape(0), type(1), buffer(2), name(3). Operator: opcode_index(0),
/// inputs(1), outputs(2), builtin_options_type(3), builtin_options(4). Buffer: data(0).
struct TFLiteModel {
    /// Element types this module reads (TensorType values).
    enum ElementType: UInt8 {
        case float32 = 0
        case float16 = 1
        case int32 = 2
    }

    struct Tensor {
        let name: String
        let shape: [Int]
        let type: ElementType
        /// Constant contents, nil for activations.
        let data: ArraySlice<UInt8>?

        var count: Int { shape.reduce(1, *) }
    }

    struct Operator {
        let code: BuiltinOperator
        /// Tensor indices; -1 marks an omitted optional input.
        let inputs: [Int]
        let outputs: [Int]
        let options: FlatTable?
    }

    let name: String
    let tensors: [Tensor]
    let operators: [Operator]
    let inputs: [Int]
    let outputs: [Int]

    init(contentsOf url: URL) throws(FaceMeshError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw FaceMeshError(.modelMissing, "\(url.path): cannot be read (\(error.localizedDescription))")
        }
        try self.init(bytes: [UInt8](data), name: url.lastPathComponent)
    }

    init(bytes: [UInt8], name: String) throws(FaceMeshError) {
        self.name = name
        let buffer = FlatBuffer(bytes: bytes, name: name)
        guard bytes.count >= 8, bytes[4..<8].elementsEqual("TFL3".utf8) else {
            throw FaceMeshError(.malformedModel, "\(name): not a TensorFlow Lite model (no TFL3 identifier)")
        }
        let model = try buffer.root()
        let buffers = try model.tables(4).map { (table) throws(FaceMeshError) -> ArraySlice<UInt8>? in
            guard let vector = try table.vector(0, elementSize: 1), vector.count > 0 else { return nil }
            return bytes[vector.start..<(vector.start + vector.count)]
        }
        let codes = try model.tables(1).map { (table) throws(FaceMeshError) -> Int32 in
            max(Int32(Int8(bitPattern: try table.uint8(0))), try table.int32(3))
        }
        let subgraphs = try model.tables(2)
        guard let graph = subgraphs.first else { throw FaceMeshError(.malformedModel, "\(name): has no subgraph") }
        var tensors: [Tensor] = []
        for (index, table) in try graph.tables(0).enumerated() {
            let tensorName = try table.string(3) ?? "tensor \(index)"
            let rawType = try table.uint8(1)
            guard let type = ElementType(rawValue: rawType) else {
                throw FaceMeshError(.unsupportedModel, "\(name): tensor \(tensorName) has element type \(rawType)")
            }
            let bufferIndex = Int(try table.uint32(2))
            guard bufferIndex < max(buffers.count, 1) else {
                throw FaceMeshError(.malformedModel, "\(name): tensor \(tensorName) names buffer \(bufferIndex)")
            }
            let shape = try table.ints(0)
            // Positive dimensions, and at most 2^28 elements so sizes cannot overflow.
            let elements = shape.reduce(1) { total, dimension in total <= 1 << 28 ? total * max(dimension, 0) : total }
            guard shape.allSatisfy({ $0 > 0 }), elements <= 1 << 28 else {
                throw FaceMeshError(.unsupportedModel, "\(name): tensor \(tensorName) has shape \(shape)")
            }
            let data = bufferIndex < buffers.count ? buffers[bufferIndex] : nil
            let tensor = Tensor(name: tensorName, shape: shape, type: type, data: data)
            if let data {
                let size = type == .float16 ? 2 : 4
                guard data.count == tensor.count * size else {
                    throw FaceMeshError(
                        .malformedModel,
                        "\(name): tensor \(tensorName) holds \(data.count) bytes, its shape \(shape) needs \(tensor.count * size)"
                    )
                }
            }
            tensors.append(tensor)
        }
        var operators: [Operator] = []
        for (index, table) in try graph.tables(3).enumerated() {
            let opcode = Int(try table.uint32(0))
            guard opcode < codes.count else {
                throw FaceMeshError(.malformedModel, "\(name): operator \(index) names operator code \(opcode)")
            }
            guard let code = BuiltinOperator(rawValue: codes[opcode]) else {
                throw FaceMeshError(
                    .unsupportedModel,
                    "\(name): operator \(index) is builtin operator \(codes[opcode]), not implemented")
            }
            let inputs = try table.ints(1)
            let outputs = try table.ints(2)
            for tensor in inputs + outputs where tensor < -1 || tensor >= tensors.count {
                throw FaceMeshError(.malformedModel, "\(name): operator \(index) names tensor \(tensor)")
            }
            operators.append(Operator(code: code, inputs: inputs, outputs: outputs, options: try table.table(4)))
        }
        self.tensors = tensors
        self.operators = operators
        inputs = try graph.ints(1)
        outputs = try graph.ints(2)
        for tensor in inputs + outputs where tensor < 0 || tensor >= tensors.count {
            throw FaceMeshError(.malformedModel, "\(name): the graph names input or output tensor \(tensor)")
        }
    }
}

/// The builtin operators this module runs (BuiltinOperator values in the schema).
enum BuiltinOperator: Int32 {
    case add = 0
    case concatenation = 2
    case conv2D = 3
    case depthwiseConv2D = 4
    case dequantize = 6
    case maxPool2D = 17
    case relu = 19
    case reshape = 22
    case pad = 34
    case prelu = 54
}

/// Fused activation values in operator options (ActivationFunctionType).
enum FusedActivation: UInt8 {
    case none = 0
    case relu = 1
    case reluN1To1 = 2
    case relu6 = 3
}

/// Padding values in operator options (Padding).
enum Padding: UInt8 {
    case same = 0
    case valid = 1
}
