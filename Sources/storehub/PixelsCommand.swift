import ArgumentParser
import Capture
import Foundation

/// Mean colours of boxes in a JPEG: for hardware tests that must check what a mirror drew (the VM has no Python).
struct PixelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pixels",
        abstract:
            "Print the mean RGB of boxes in the last complete JPEG of a file (a snapshot or a recorded MJPEG stream).",
        shouldDisplay: false)

    @Argument(help: "A JPEG file, or bytes of an MJPEG stream (its last complete frame is used).") var file: String
    @Option(name: .customLong("box"), help: "X,Y,WIDTH,HEIGHT in pixels; repeatable.") var boxes: [String] = []

    func run() throws {
        guard let bytes = FileManager.default.contents(atPath: file).map({ [UInt8]($0) }) else {
            throw ValidationError("\(file) cannot be read")
        }
        guard let jpeg = CameraJPEG.lastJPEG(in: bytes) else { throw ValidationError("\(file) holds no whole JPEG") }
        let (pixels, width, height) = try CameraJPEG.decodeRGB(jpeg, name: file)
        var lines: [String] = []
        for text in boxes {
            let numbers = text.split(separator: ",").compactMap { Int($0) }
            guard numbers.count == 4, numbers[2] > 0, numbers[3] > 0, numbers[0] >= 0, numbers[1] >= 0,
                numbers[0] + numbers[2] <= width, numbers[1] + numbers[3] <= height
            else {
                throw ValidationError("box '\(text)' is not X,Y,WIDTH,HEIGHT inside the \(width)x\(height) image")
            }
            var sum = SIMD3<Double>(0, 0, 0)
            for y in numbers[1]..<(numbers[1] + numbers[3]) {
                for x in numbers[0]..<(numbers[0] + numbers[2]) {
                    let p = (y * width + x) * 3
                    sum += SIMD3(Double(pixels[p]), Double(pixels[p + 1]), Double(pixels[p + 2]))
                }
            }
            let mean = sum / Double(numbers[2] * numbers[3])
            lines.append(
                #"{"box":"\#(text)","r":\#(Int(mean.x.rounded())),"g":\#(Int(mean.y.rounded())),"b":\#(Int(mean.z.rounded()))}"#
            )
        }
        print(#"{"width":\#(width),"height":\#(height),"boxes":[\#(lines.joined(separator: ","))]}"#)
    }
}
