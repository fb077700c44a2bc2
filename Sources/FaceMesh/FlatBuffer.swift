/// Bounds-checked reading of a FlatBuffers binary, enough for TensorFlow Lite model files.
///
/// Layout facts used here: the buffer starts with a 32-bit offset to the root table; a table starts with a signed
/// 32-bit distance back to its vtable; a vtable holds its own size, the table's size, then one 16-bit offset per
/// field (0 when the field is absent and takes its default). Tables, vectors and strings are reached through
/// unsigned 32-bit offsets relative to where the offset is stored; vectors and strings begin with a 32-bit count.
struct FlatBuffer {
    let bytes: [UInt8]
    /// Names the file in errors.
    let name: String

    func fail(_ what: String, at position: Int) -> FaceMeshError {
        FaceMeshError(.malformedModel, "\(name): \(what) at byte \(position) (file has \(bytes.count) bytes)")
    }

    func check(_ position: Int, _ size: Int) throws(FaceMeshError) {
        guard position >= 0, size >= 0, position <= bytes.count - size else {
            throw fail("a \(size)-byte value reaches past the end", at: position)
        }
    }

    func u8(_ position: Int) throws(FaceMeshError) -> UInt8 {
        try check(position, 1)
        return bytes[position]
    }

    func u16(_ position: Int) throws(FaceMeshError) -> UInt16 {
        try check(position, 2)
        return UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8
    }

    func u32(_ position: Int) throws(FaceMeshError) -> UInt32 {
        try check(position, 4)
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[position + index]) << (8 * index) }
        return value
    }

    func i32(_ position: Int) throws(FaceMeshError) -> Int32 { Int32(bitPattern: try u32(position)) }

    /// Follows the unsigned offset stored at `position`.
    func indirect(_ position: Int) throws(FaceMeshError) -> Int {
        let target = position + Int(try u32(position))
        try check(target, 4)
        return target
    }

    /// The root table.
    func root() throws(FaceMeshError) -> FlatTable { try FlatTable(self, at: try indirect(0)) }
}

/// One table inside a `FlatBuffer`.
struct FlatTable {
    let buffer: FlatBuffer
    let position: Int
    private let vtable: Int
    private let vtableSize: Int

    init(_ buffer: FlatBuffer, at position: Int) throws(FaceMeshError) {
        self.buffer = buffer
        self.position = position
        vtable = position - Int(try buffer.i32(position))
        vtableSize = Int(try buffer.u16(vtable))
        guard vtableSize >= 4, vtableSize % 2 == 0 else { throw buffer.fail("a vtable has a bad size", at: vtable) }
        try buffer.check(vtable, vtableSize)
    }

    /// Absolute position of field `index`, or nil when it is absent.
    func field(_ index: Int) throws(FaceMeshError) -> Int? {
        let entry = 4 + 2 * index
        guard entry + 2 <= vtableSize else { return nil }
        let offset = Int(try buffer.u16(vtable + entry))
        return offset == 0 ? nil : position + offset
    }

    func int32(_ index: Int, default value: Int32 = 0) throws(FaceMeshError) -> Int32 {
        guard let at = try field(index) else { return value }
        return try buffer.i32(at)
    }

    func uint32(_ index: Int, default value: UInt32 = 0) throws(FaceMeshError) -> UInt32 {
        guard let at = try field(index) else { return value }
        return try buffer.u32(at)
    }

    func uint8(_ index: Int, default value: UInt8 = 0) throws(FaceMeshError) -> UInt8 {
        guard let at = try field(index) else { return value }
        return try buffer.u8(at)
    }

    func table(_ index: Int) throws(FaceMeshError) -> FlatTable? {
        guard let at = try field(index) else { return nil }
        return try FlatTable(buffer, at: try buffer.indirect(at))
    }

    func vector(_ index: Int, elementSize: Int) throws(FaceMeshError) -> FlatVector? {
        guard let at = try field(index) else { return nil }
        let start = try buffer.indirect(at)
        let count = Int(try buffer.u32(start))
        try buffer.check(start + 4, count * elementSize)
        return FlatVector(buffer: buffer, start: start + 4, count: count, elementSize: elementSize)
    }

    func string(_ index: Int) throws(FaceMeshError) -> String? {
        guard let vector = try vector(index, elementSize: 1) else { return nil }
        return String(decoding: buffer.bytes[vector.start..<(vector.start + vector.count)], as: UTF8.self)
    }

    /// A vector of 32-bit integers as Ints (shapes, tensor indices).
    func ints(_ index: Int) throws(FaceMeshError) -> [Int] {
        guard let vector = try vector(index, elementSize: 4) else { return [] }
        var result: [Int] = []
        result.reserveCapacity(vector.count)
        for element in 0..<vector.count { result.append(Int(try buffer.i32(vector.start + 4 * element))) }
        return result
    }

    /// A vector of tables.
    func tables(_ index: Int) throws(FaceMeshError) -> [FlatTable] {
        guard let vector = try vector(index, elementSize: 4) else { return [] }
        var result: [FlatTable] = []
        result.reserveCapacity(vector.count)
        for element in 0..<vector.count {
            result.append(try FlatTable(buffer, at: try buffer.indirect(vector.start + 4 * element)))
        }
        return result
    }
}

/// A vector's elements inside a `FlatBuffer`: `count` elements of `elementSize` bytes from `start`.
struct FlatVector {
    let buffer: FlatBuffer
    let start: Int
    let count: Int
    let elementSize: Int
}
