import Capture
import Foundation
import HubCore
import StoreHubTestSupport
import Testing

@Suite struct ReplaySourceTests {
    /// Writes `count` small PGM frames, each filled with its own grey level.
    private func makeFolder(count: Int) throws -> TemporaryFolder {
        let folder = try TemporaryFolder("replay")
        for index in 0..<count {
            var bytes = Array("P5\n# frame \(index)\n4 2\n255\n".utf8)
            bytes += [UInt8](repeating: UInt8(index * 10), count: 8)
            try Data(bytes).write(to: folder.file(String(format: "%03d.pgm", index)))
        }
        return folder
    }

    @Test func playsFramesInNameOrderAndLoops() async throws {
        let folder = try makeFolder(count: 3)
        let source = ReplaySource(folder: folder.url, fps: 200)
        try await source.open()
        defer { source.close() }
        var levels: [UInt8] = []
        for _ in 0..<6 {
            let frame = try #require(try await source.next())
            #expect(frame.width == 4 && frame.height == 2 && frame.format == .grey)
            levels.append(frame.buffer.bytes[0])
        }
        // Frames may be skipped when the test thread is slow, but they come in cyclic order.
        for (previous, next) in zip(levels, levels.dropFirst()) where previous != next {
            #expect((Int(previous) / 10 + 1) % 3 == Int(next) / 10 || source.counters.dropped > 0)
        }
        #expect(source.counters.delivered == 6)
    }

    @Test func aSlowConsumerSkipsFramesAndTheyAreCounted() async throws {
        let folder = try makeFolder(count: 4)
        let source = ReplaySource(folder: folder.url, fps: 100)
        try await source.open()
        defer { source.close() }
        _ = try await source.next()
        try await Task.sleep(for: .milliseconds(200))
        let frame = try #require(try await source.next())
        #expect(frame.index >= 15, "the newest frame is delivered, not the next stale one")
        #expect(source.counters.dropped >= 14)
    }

    @Test func eachImageIsHeldForItsFrameCount() async throws {
        let folder = try makeFolder(count: 2)
        let source = ReplaySource(folder: folder.url, fps: 50, loops: true, hold: 3)
        try await source.open()
        defer { source.close() }
        for _ in 0..<8 {
            let frame = try #require(try await source.next())
            #expect(Int(frame.buffer.bytes[0]) / 10 == Int(frame.index / 3) % 2)
        }
    }

    @Test func finiteReplayEnds() async throws {
        let folder = try makeFolder(count: 2)
        let source = ReplaySource(folder: folder.url, fps: 500, loops: false)
        try await source.open()
        var count = 0
        while try await source.next() != nil { count += 1 }
        #expect(count >= 1 && count <= 2)
    }

    @Test func missingFolderIsATransientErrorThatSaysWhatToRun() async throws {
        let source = ReplaySource(folder: URL(fileURLWithPath: "/nonexistent/storehub-media"), fps: 5)
        let error = await #expect(throws: CaptureError.self) { try await source.open() }
        #expect(error?.isTransient == true)
        #expect(error?.message.contains("gen-demo-media") == true)
    }

    @Test func damagedJPEGNamesTheFile() throws {
        let folder = try TemporaryFolder("broken-jpeg")
        let file = folder.file("broken.jpg")
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A]).write(to: file)
        let error = #expect(throws: CaptureError.self) { try ImageFile.loadGrey(file) }
        #expect(error?.message.contains(file.lastPathComponent) == true)
        #expect(error?.isTransient == false)
    }

    @Test func truncatedPGMIsRefused() throws {
        let folder = try TemporaryFolder("short-pgm")
        let file = folder.file("short.pgm")
        try Data(Array("P5 4 4 255\n".utf8) + [1, 2, 3]).write(to: file)
        let error = #expect(throws: CaptureError.self) { try ImageFile.loadGrey(file) }
        #expect(error?.message.contains("fewer pixels") == true)
    }
}
