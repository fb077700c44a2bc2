import Foundation

/// Why the face models could not be loaded or run.
///
/// `code` is the closed set of causes; `message` names the file or tensor and what to do about it.
package struct FaceMeshError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure.
    package enum Code: Sendable, Equatable {
        /// A model file is not in the models directory (run scripts/fetch-assets).
        case modelMissing
        /// A model file is not a well-formed TensorFlow Lite flatbuffer.
        case malformedModel
        /// The model uses an operator, tensor type or option this module does not implement.
        case unsupportedModel
        /// A frame or image the pipeline cannot read (grey, or a buffer smaller than its size says).
        case unsupportedInput
    }

    package let code: Code
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}
