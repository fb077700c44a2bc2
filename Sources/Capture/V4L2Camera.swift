import CV4L2
import Dispatch
import Foundation
import HubCore
import Synchronization

/// A V4L2 camera (USB UVC and any other capture device) through libv4l2, with mmap streaming.
///
/// For luma output (kiosks), formats are negotiated in the order the decoder likes them: GREY and NV12 hand zbar
/// their luma plane in place; YUYV has its luma picked out into a buffer allocated once; MJPEG (what USB 2.0
/// cameras deliver at 720p30) is decoded straight to grey with libjpeg-turbo. For colour output (mirrors): NV12
/// and YUYV frames are lent in place, MJPEG is decoded to NV12 without RGB into a buffer made at open. Only a few
/// buffers are queued, and `next()` always returns the newest filled one: older ones go straight back to the
/// driver and count as dropped.
package final class V4L2Camera: FrameSource {
    package let path: String
    package let width: Int
    package let height: Int
    package let fps: Double
    /// A pinned pixel format (fourcc), or nil to negotiate the best the camera offers.
    package let format: String?
    /// How long `next()` waits for a frame before it calls the stream stalled.
    package let stallTimeout: Duration
    /// Control values by descriptor name (`auto_exposure`, `brightness`), set on every open.
    package let controls: [String: Int]
    /// What the consumer needs of a frame: luma only, or colour.
    package let output: Output
    private let state = Mutex(Stream?.none)
    private let counters_ = Mutex(FrameCounters())
    private let queue: DispatchQueue

    /// What the consumer needs of a frame, which decides the formats negotiated and how they are delivered.
    package enum Output: Sendable {
        /// GREY or NV12 frames (kiosks: zbar reads the luma plane): GREY, NV12, YU12, YUYV, MJPG, best first.
        case luma
        /// NV12 or YUYV frames (mirrors): NV12, YUYV, MJPG, best first.
        case colour

        /// The fourccs this output takes, best first.
        package var formats: [String] {
            switch self {
            case .luma: ["GREY", "NV12", "YU12", "YUYV", "MJPG"]
            case .colour: ["NV12", "YUYV", "MJPG"]
            }
        }
    }

    /// What was negotiated with the driver, for status and tests.
    package struct Negotiated: Sendable, Equatable {
        package var fourcc: String
        package var width: Int
        package var height: Int
        package var bytesPerLine: Int
        package var driver: String
        package var card: String
    }

    package init(
        path: String, width: Int = 1280, height: Int = 720, fps: Double = 30, format: String? = nil,
        stallTimeout: Duration = .seconds(3), controls: [String: Int] = [:], output: Output = .luma
    ) {
        self.output = output
        self.format = format
        self.controls = controls
        self.path = path
        self.width = width
        self.height = height
        self.fps = fps
        self.stallTimeout = stallTimeout
        queue = DispatchQueue(label: "storehub.v4l2.\(path)")
    }

    package var description: String { "V4L2 camera \(path)" }
    package var counters: FrameCounters { counters_.withLock { $0 } }
    package var negotiated: Negotiated? { state.withLock { $0?.negotiated } }
    package var warnings: [String] { state.withLock { $0?.controlProblems ?? [] } }

    package func open() async throws {
        let (path, width, height, fps, format) = (self.path, self.width, self.height, self.fps, self.format)
        let (controls, output) = (self.controls, self.output)
        let timeoutMs = Int32(
            stallTimeout.components.seconds * 1000 + stallTimeout.components.attoseconds / 1_000_000_000_000_000)
        let stream = try await queue.run { () throws(CaptureError) -> Stream in
            try Stream.open(
                path: path, width: width, height: height, fps: fps, format: format, controls: controls,
                output: output, timeoutMs: timeoutMs)
        }
        state.withLock { $0 = stream }
    }

    /// Waits on the camera's queue for the newest frame. Nothing is allocated per call: the continuation is an
    /// unsafe one (a pointer to this task), and the block sent to the queue was made when the stream opened.
    package func next() async throws -> Frame? {
        guard let stream = state.withLock({ $0 }) else { throw CaptureError("\(path) is not open", isTransient: true) }
        let delivery: Stream.Delivery
        do {
            delivery = try await withUnsafeThrowingContinuation { continuation in
                stream.waiter.withLock { $0 = continuation }
                queue.async(execute: stream.serveWaiter)
            }
        } catch let error as CaptureError where error.isStall {
            counters_.withLock { $0.streamRestarts += 1 }
            throw error
        }
        counters_.withLock { counters in
            counters.delivered += 1
            counters.dropped += delivery.skipped
            counters.damaged += delivery.damaged
            if delivery.converted { counters.converted += 1 }
        }
        return delivery.frame
    }

    /// Returns when the device node exists (inotify, no polling), or after `limit`.
    package func waitForDevice(upTo limit: Duration) async throws {
        if FileManager.default.fileExists(atPath: path) {
            try await Task.sleep(for: limit)
        } else {
            _ = await PathWatcher.waitUntilExists(path, timeout: limit)
            try Task.checkCancellation()
        }
    }

    package func close() {
        let stream = state.withLock { state -> Stream? in
            defer { state = nil }
            return state
        }
        guard let stream else { return }
        // Asynchronous: a driver can block STREAMOFF for a long time (vivid does after a re-bind), and that must
        // not hold up the pipeline or the hub's shutdown. A later open() queues behind it on the same queue.
        queue.async { stream.close() }
    }
}

/// An open, streaming device: file descriptor, mapped buffers, and the buffer lent out as the current frame.
///
/// Used only on its camera's serial queue.
private final class Stream: @unchecked Sendable {
    // @unchecked: every method runs on the owning V4L2Camera's serial queue.
    let fd: Int32
    let path: String
    let negotiated: V4L2Camera.Negotiated
    let pixelFormat: UInt32
    var buffers: [UnsafeMutableRawBufferPointer]
    /// One borrowing FrameBuffer per mapped buffer, made once so that frames allocate nothing.
    let borrowed: [FrameBuffer]
    /// The buffer the current frame points into; queued again on the next call.
    var lent: UInt32?
    /// Output for formats whose luma is not a plane of the capture buffer.
    let converted: FrameBuffer
    var index: UInt64 = 0
    let jpeg: MJPEGDecoder?
    /// Descriptor controls the device did not take, in words.
    let controlProblems: [String]
    /// How long `next` waits for a frame before it restarts the stream.
    let timeoutMs: Int32
    /// The pipeline task waiting for a frame; set by V4L2Camera.next, resumed on the queue by `serveWaiter`.
    let waiter = Mutex<UnsafeContinuation<Delivery, any Error>?>(nil)
    /// Sent to the queue once per frame: made once, as a block, so that sending it allocates nothing.
    private(set) var serveWaiter: @convention(block) @Sendable () -> Void = {}

    /// A frame handed out by `next`, with how many older ones were skipped for it (damaged ones included, and
    /// also counted apart) and whether its pixels were copied (YUYV luma, MJPEG) rather than lent in place.
    struct Delivery: Sendable {
        var frame: Frame
        var skipped: UInt64
        var damaged: UInt64 = 0
        var converted: Bool
    }

    let output: V4L2Camera.Output

    init(
        fd: Int32, path: String, negotiated: V4L2Camera.Negotiated, pixelFormat: UInt32,
        buffers: [UnsafeMutableRawBufferPointer], controlProblems: [String], output: V4L2Camera.Output,
        timeoutMs: Int32
    ) {
        self.output = output
        self.fd = fd
        self.controlProblems = controlProblems
        self.timeoutMs = timeoutMs
        self.path = path
        self.negotiated = negotiated
        self.pixelFormat = pixelFormat
        self.buffers = buffers
        borrowed = buffers.map { FrameBuffer(borrowing: $0) }
        let pixels = negotiated.width * negotiated.height
        switch (output, negotiated.fourcc) {
        case (.colour, "MJPG"):
            converted = FrameBuffer(capacity: pixels * 3 / 2)
            jpeg = try? MJPEGDecoder(colourWidth: negotiated.width, colourHeight: negotiated.height)
        case (.colour, _):
            converted = FrameBuffer(capacity: 0)
            jpeg = nil
        case (.luma, _):
            converted = FrameBuffer(capacity: pixels)
            jpeg = negotiated.fourcc == "MJPG" ? try? MJPEGDecoder() : nil
        }
        serveWaiter = { [unowned self] in
            guard let continuation = waiter.withLock({ $0.take() }) else { return }
            do {
                continuation.resume(returning: try next(timeoutMs: timeoutMs))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    static func open(
        path: String, width: Int, height: Int, fps: Double, format pinned: String?, controls: [String: Int],
        output: V4L2Camera.Output, timeoutMs: Int32
    ) throws(CaptureError) -> Stream {
        let fd = storehub_v4l2_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw V4L2.openError(path: path, errno: errno) }
        var success = false
        defer { if !success { _ = storehub_v4l2_close(fd) } }

        var capability = v4l2_capability()
        try V4L2.ioctl(fd, storehub_VIDIOC_QUERYCAP, &capability, "\(path): QUERYCAP")
        let caps =
            capability.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0
            ? capability.device_caps : capability.capabilities
        guard caps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0 else {
            throw CaptureError(
                "\(path) is not a video capture device (it may be the metadata node of the camera)", isTransient: false)
        }
        guard caps & UInt32(V4L2_CAP_STREAMING) != 0 else {
            throw CaptureError("\(path) does not support streaming I/O", isTransient: false)
        }
        let available = V4L2.formats(fd: fd)
        let preferred = output.formats
        if let pinned, !preferred.contains(pinned) {
            throw CaptureError(
                "\(path): the configured format \(pinned) cannot be used here; use one of \(preferred.joined(separator: ", "))",
                isTransient: false)
        }
        if let pinned, !available.contains(pinned) {
            throw CaptureError(
                "\(path) does not offer the configured format \(pinned); it has \(available.joined(separator: ", "))",
                isTransient: false)
        }
        guard let fourcc = pinned ?? preferred.first(where: { available.contains($0) }) else {
            throw CaptureError(
                "\(path) offers none of the formats StoreHub decodes (\(preferred.joined(separator: ", "))); it has \(available.joined(separator: ", "))",
                isTransient: false)
        }
        var format = v4l2_format()
        format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        format.fmt.pix.width = UInt32(width)
        format.fmt.pix.height = UInt32(height)
        format.fmt.pix.pixelformat = V4L2.fourcc(fourcc)
        format.fmt.pix.field = V4L2_FIELD_NONE.rawValue
        try V4L2.ioctl(fd, storehub_VIDIOC_S_FMT, &format, "\(path): set format \(fourcc) \(width)x\(height)")
        let negotiatedFourcc = V4L2.name(format.fmt.pix.pixelformat)
        guard preferred.contains(negotiatedFourcc) else {
            throw CaptureError(
                "\(path) answered format \(negotiatedFourcc), which StoreHub does not decode", isTransient: false)
        }
        if output == .colour, format.fmt.pix.width % 2 != 0 || format.fmt.pix.height % 2 != 0 {
            throw CaptureError(
                "\(path) answered an odd size \(format.fmt.pix.width)x\(format.fmt.pix.height); colour frames need even sizes",
                isTransient: false)
        }
        var parameters = v4l2_streamparm()
        parameters.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        parameters.parm.capture.timeperframe = v4l2_fract(numerator: 1000, denominator: UInt32((fps * 1000).rounded()))
        // Not every driver lets the rate be set (vivid's loopback input does not); the camera's rate then stands.
        _ = try? V4L2.call(fd, storehub_VIDIOC_S_PARM, &parameters)
        let controlProblems = V4L2Controls.apply(controls, fd: fd, path: path)

        var request = v4l2_requestbuffers()
        request.count = 4
        request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        request.memory = V4L2_MEMORY_MMAP.rawValue
        try V4L2.ioctl(fd, storehub_VIDIOC_REQBUFS, &request, "\(path): request buffers")
        guard request.count >= 2 else {
            throw CaptureError("\(path): the driver gave too few buffers", isTransient: true)
        }
        var buffers: [UnsafeMutableRawBufferPointer] = []
        for index in 0..<request.count {
            var buffer = v4l2_buffer()
            buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buffer.memory = V4L2_MEMORY_MMAP.rawValue
            buffer.index = index
            try V4L2.ioctl(fd, storehub_VIDIOC_QUERYBUF, &buffer, "\(path): query buffer")
            guard
                let mapped = v4l2_mmap(
                    nil, Int(buffer.length), PROT_READ | PROT_WRITE, MAP_SHARED, fd, Int64(buffer.m.offset)),
                mapped != MAP_FAILED
            else {
                for done in buffers { _ = v4l2_munmap(done.baseAddress, done.count) }
                throw CaptureError(
                    "\(path): cannot map buffer \(index): \(String(cString: strerror(errno)))", isTransient: true)
            }
            buffers.append(UnsafeMutableRawBufferPointer(start: mapped, count: Int(buffer.length)))
            try V4L2.ioctl(fd, storehub_VIDIOC_QBUF, &buffer, "\(path): queue buffer")
        }
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        try V4L2.ioctl(fd, storehub_VIDIOC_STREAMON, &type, "\(path): start streaming")
        let negotiated = V4L2Camera.Negotiated(
            fourcc: negotiatedFourcc, width: Int(format.fmt.pix.width), height: Int(format.fmt.pix.height),
            bytesPerLine: Int(format.fmt.pix.bytesperline), driver: V4L2.string(capability.driver),
            card: V4L2.string(capability.card))
        success = true
        return Stream(
            fd: fd, path: path, negotiated: negotiated, pixelFormat: format.fmt.pix.pixelformat, buffers: buffers,
            controlProblems: controlProblems, output: output, timeoutMs: timeoutMs)
    }

    /// Waits for a filled buffer and returns the newest as a frame, with how many older ones it skipped.
    ///
    /// When no frame comes within the timeout the stream is stopped and started again in place, and a stall
    /// error says so; the caller decides whether to keep waiting or to reopen the device.
    func next(timeoutMs: Int32) throws(CaptureError) -> Delivery {
        if let lent {
            var buffer = v4l2_buffer()
            buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buffer.memory = V4L2_MEMORY_MMAP.rawValue
            buffer.index = lent
            try V4L2.ioctl(fd, storehub_VIDIOC_QBUF, &buffer, "\(path): queue buffer")
            self.lent = nil
        }
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = try? SystemCall.run("poll") { Glibc.poll(&poll, 1, timeoutMs) }
        if ready == 0 {
            try restartStream()
            throw CaptureError(
                "\(path): no frame for \(timeoutMs) ms; the stream was restarted", isTransient: true, isStall: true)
        }
        if ready == nil || poll.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
            throw CaptureError("\(path): the camera went away (unplugged or driver reset)", isTransient: true)
        }
        var newest: v4l2_buffer?
        var skipped: UInt64 = 0
        while true {
            // Another buffer only when poll says one is there: libv4l2 logs every DQBUF that fails, EAGAIN
            // included, which would be a line on stderr per frame.
            if newest != nil {
                var more = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard Glibc.poll(&more, 1, 0) > 0, more.revents & Int16(POLLIN) != 0 else { break }
            }
            var buffer = v4l2_buffer()
            buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buffer.memory = V4L2_MEMORY_MMAP.rawValue
            let dequeued: Int32?
            do throws(SystemCallError) {
                // The descriptor is non-blocking: nil (EAGAIN) means no more filled buffers.
                dequeued = try SystemCall.runNonBlocking("v4l2_ioctl") {
                    storehub_v4l2_ioctl(fd, storehub_VIDIOC_DQBUF, &buffer)
                }
            } catch {
                throw V4L2.streamError(path: path, errno: error.errno)
            }
            if dequeued == nil { break }
            if var older = newest {
                skipped += 1
                try V4L2.ioctl(fd, storehub_VIDIOC_QBUF, &older, "\(path): queue buffer")
            }
            newest = buffer
        }
        guard let filled = newest else { return try next(timeoutMs: timeoutMs) }
        lent = filled.index
        let captureTime = V4L2.wallClock(filled.timestamp)
        let frame: Frame
        do {
            frame = try self.frame(from: filled, captureTime: captureTime)
            damagedInARow = 0
        } catch {
            // A USB camera sends the odd damaged MJPEG frame; it is skipped and counted. Only a camera that sends
            // nothing else is reported.
            damagedInARow += 1
            if damagedInARow >= Self.damagedFramesBeforeError { throw error }
            var delivery = try next(timeoutMs: timeoutMs)
            delivery.skipped += skipped + 1
            delivery.damaged += 1
            return delivery
        }
        index += 1
        return Delivery(frame: frame, skipped: skipped, converted: frame.buffer !== borrowed[Int(filled.index)])
    }

    /// Damaged frames in a row after which the camera is reported offline (and reopened) with the decoder's error.
    static let damagedFramesBeforeError = 30
    private var damagedInARow = 0

    /// STREAMOFF takes every buffer back from the driver; all are queued again and streaming restarts.
    private func restartStream() throws(CaptureError) {
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        try V4L2.ioctl(fd, storehub_VIDIOC_STREAMOFF, &type, "\(path): stop the stalled stream")
        lent = nil
        for index in buffers.indices {
            var buffer = v4l2_buffer()
            buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buffer.memory = V4L2_MEMORY_MMAP.rawValue
            buffer.index = UInt32(index)
            try V4L2.ioctl(fd, storehub_VIDIOC_QBUF, &buffer, "\(path): queue buffer")
        }
        try V4L2.ioctl(fd, storehub_VIDIOC_STREAMON, &type, "\(path): restart streaming")
    }

    private func frame(from filled: v4l2_buffer, captureTime: Date) throws(CaptureError) -> Frame {
        let data = buffers[Int(filled.index)]
        let width = negotiated.width
        let height = negotiated.height
        let stride = max(negotiated.bytesPerLine, negotiated.fourcc == "YUYV" ? width * 2 : width)
        if output == .colour { return try colourFrame(from: filled, stride: stride, captureTime: captureTime) }
        switch negotiated.fourcc {
        case "GREY", "NV12", "YU12":
            return Frame(
                format: negotiated.fourcc == "GREY" ? .grey : .nv12, width: width, height: height, bytesPerRow: stride,
                captureTime: captureTime, index: index, buffer: borrowed[Int(filled.index)])
        case "YUYV":
            let source = data.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let target = converted.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for row in 0..<height {
                let line = source + row * stride
                let out = target + row * width
                for x in 0..<width { out[x] = line[x * 2] }
            }
            return Frame(
                format: .grey, width: width, height: height, bytesPerRow: width, captureTime: captureTime, index: index,
                buffer: converted)
        default:
            guard let jpeg else { throw CaptureError("libjpeg-turbo could not start", isTransient: false) }
            try jpeg.decodeGrey(
                UnsafeRawBufferPointer(rebasing: data[0..<min(Int(filled.bytesused), data.count)]), width: width,
                height: height, into: converted, camera: path)
            return Frame(
                format: .grey, width: width, height: height, bytesPerRow: width, captureTime: captureTime, index: index,
                buffer: converted)
        }
    }

    /// NV12 and YUYV lent in place (the mirror's renderer draws into the driver's buffer, which is queued again
    /// only after the frame was used); MJPEG decoded to NV12.
    private func colourFrame(from filled: v4l2_buffer, stride: Int, captureTime: Date) throws(CaptureError) -> Frame {
        let (width, height) = (negotiated.width, negotiated.height)
        switch negotiated.fourcc {
        case "NV12", "YUYV":
            return Frame(
                format: negotiated.fourcc == "NV12" ? .nv12 : .yuyv, width: width, height: height,
                bytesPerRow: stride, captureTime: captureTime, index: index, buffer: borrowed[Int(filled.index)])
        default:
            guard let jpeg else { throw CaptureError("libjpeg-turbo could not start", isTransient: false) }
            let data = buffers[Int(filled.index)]
            try jpeg.decodeNV12(
                UnsafeRawBufferPointer(rebasing: data[0..<min(Int(filled.bytesused), data.count)]), width: width,
                height: height, into: converted, camera: path)
            return Frame(
                format: .nv12, width: width, height: height, bytesPerRow: width, captureTime: captureTime, index: index,
                buffer: converted)
        }
    }

    func close() {
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        _ = try? V4L2.call(fd, storehub_VIDIOC_STREAMOFF, &type)
        for buffer in buffers { _ = v4l2_munmap(buffer.baseAddress, buffer.count) }
        buffers = []
        _ = storehub_v4l2_close(fd)
    }
}
