import Foundation
import HubCore
import Synchronization

/// Plays a folder of images (JPEG, PGM) as a camera at a set frame rate, in name order, looping; each image
/// stays in view for `hold` frames, as a code held up to a camera does.
///
/// Images are decoded once at `open()`; playing allocates nothing. Pacing follows the wall clock: when the
/// consumer falls behind, the frames it missed are skipped and counted as dropped, as a live camera would.
package final class ReplaySource: FrameSource {
    package let folder: URL
    package let fps: Double
    package let loops: Bool
    package let hold: Int
    private let state: Mutex<PlayState>

    private struct PlayState {
        var frames: [Frame] = []
        var pacing: ReplayPacing
        var counters = FrameCounters()
    }

    package init(folder: URL, fps: Double, loops: Bool = true, hold: Int = 1) {
        precondition(fps > 0 && hold > 0)
        self.folder = folder
        self.fps = fps
        self.loops = loops
        self.hold = hold
        state = Mutex(PlayState(pacing: ReplayPacing(fps: fps)))
    }

    package var description: String { "replay of \(folder.path) at \(fps) fps" }

    package var counters: FrameCounters { state.withLock { $0.counters } }

    package func open() async throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
                let lower = $0.lowercased()
                return lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") || lower.hasSuffix(".pgm")
            }.sorted()
        } catch {
            throw CaptureError(
                "replay folder \(folder.path) is missing (for the demo run scripts/gen-demo-media)", isTransient: true)
        }
        guard !names.isEmpty else {
            throw CaptureError("replay folder \(folder.path) holds no .jpg or .pgm images", isTransient: true)
        }
        var frames: [Frame] = []
        for name in names {
            frames.append(try ImageFile.loadGrey(folder.appendingPathComponent(name)))
        }
        state.withLock { state in
            state.frames = frames
            state.pacing.reset()
        }
    }

    package func next() async throws -> Frame? {
        let (tick, due) = state.withLock { $0.pacing.next() }
        try await ReplayPacing.wait(until: due)
        return state.withLock { state -> Frame? in
            guard !state.frames.isEmpty else { return nil }
            var pacing = state.pacing
            let (current, skipped) = pacing.take(tick)
            let image = current / Int64(hold)
            if !loops && image >= Int64(state.frames.count) { return nil }
            state.pacing = pacing
            state.counters.delivered += 1
            state.counters.dropped += skipped
            var frame = state.frames[Int(image % Int64(state.frames.count))]
            frame.captureTime = Date()
            frame.index = UInt64(current)
            return frame
        }
    }

    package func close() {
        state.withLock { state in
            state.frames = []
            state.pacing.reset()
        }
    }
}
