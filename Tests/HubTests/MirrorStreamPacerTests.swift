import Foundation
import Testing

@testable import Hub

/// Which frames of a mirror go to its stream.
struct MirrorStreamPacerTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// The frames of a `cameraFps` camera over `seconds` the pacer streams, each captured up to `jitter` seconds off
    /// its due time (a seeded, repeatable pattern).
    func streamed(cameraFps: Double, streamFps: Double, seconds: Double, jitter: Double = 0.001) -> [Int] {
        var pacer = MirrorStreamPacer(fps: streamFps)
        return (0..<Int(seconds * cameraFps)).filter { index in
            let offset = jitter * Double((index * 7919) % 21 - 10) / 10
            return pacer.admits(capturedAt: start + Double(index) / cameraFps + offset)
        }
    }

    @Test func aCameraAtTheStreamsRateHasEveryFrameStreamedDespiteJitter() {
        #expect(streamed(cameraFps: 30, streamFps: 30, seconds: 10).count == 300)
    }

    @Test func aCameraAtTwiceTheStreamsRateHasEveryOtherFrameStreamed() {
        #expect(streamed(cameraFps: 30, streamFps: 15, seconds: 10) == Array(stride(from: 0, to: 300, by: 2)))
    }

    @Test func theStreamNeverRunsFasterThanItsRateOnAverage() {
        for (camera, stream) in [(25.0, 15.0), (30.0, 20.0), (60.0, 30.0), (30.0, 10.0), (24.0, 30.0)] {
            let count = streamed(cameraFps: camera, streamFps: stream, seconds: 20, jitter: 0.002).count
            #expect(count <= Int(20 * min(camera, stream)) + 1, "camera \(camera) fps, stream \(stream) fps")
            #expect(count >= Int(20 * min(camera, stream) * 0.95), "camera \(camera) fps, stream \(stream) fps")
        }
    }

    @Test func aFrameWithANewLookIsStreamedAtOnceAndTheScheduleStartsFromIt() {
        var pacer = MirrorStreamPacer(fps: 10)
        let frames: [(TimeInterval, Bool)] = [(0, false), (0.033, false), (0.05, true), (0.1, false), (0.15, false)]
        let admitted = frames.map { pacer.admits(capturedAt: start + $0.0, now: $0.1) }
        #expect(admitted == [true, false, true, false, true])
    }

    @Test func afterAGapTheScheduleStartsFromTheNextFrame() {
        var pacer = MirrorStreamPacer(fps: 10)
        let admitted = [0, 2.03, 2.1, 2.13].map { pacer.admits(capturedAt: start + $0) }
        #expect(admitted == [true, true, false, true])
    }
}
