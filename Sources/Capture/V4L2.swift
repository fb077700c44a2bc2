import CV4L2
import Foundation
import HubCore

/// The small set of V4L2 helpers every camera call needs.
enum V4L2 {
    /// ioctl through libv4l2, retrying EINTR; a failure becomes a CaptureError naming what was being done.
    static func ioctl<T>(
        _ fd: Int32, _ request: UInt, _ argument: inout T, _ what: @autoclosure () -> String
    ) throws(CaptureError) {
        do throws(SystemCallError) {
            try call(fd, request, &argument)
        } catch {
            let code = error.errno
            let transient = code == ENODEV || code == EIO || code == EBUSY || code == ENXIO
            throw CaptureError("\(what()): \(error.reason)", isTransient: transient)
        }
    }

    /// ioctl through libv4l2, retrying EINTR, for callers that read the errno themselves (end of an enumeration,
    /// an empty queue).
    static func call<T>(_ fd: Int32, _ request: UInt, _ argument: inout T) throws(SystemCallError) {
        _ = try SystemCall.run("v4l2_ioctl") {
            withUnsafeMutableBytes(of: &argument) { storehub_v4l2_ioctl(fd, request, $0.baseAddress) }
        }
    }

    static func openError(path: String, errno code: Int32) -> CaptureError {
        switch code {
        case ENOENT:
            return CaptureError("\(path) does not exist (camera not plugged in?)", isTransient: true)
        case EACCES, EPERM:
            return CaptureError(
                "\(path): permission denied; add the user running storehub to the 'video' group", isTransient: true)
        case EBUSY:
            return CaptureError("\(path) is busy: another program is using the camera", isTransient: true)
        case ENOTTY, EINVAL:
            return CaptureError("\(path) is not a V4L2 camera; check camera.path in the descriptor", isTransient: false)
        default:
            return CaptureError("\(path) cannot be opened: \(String(cString: strerror(code)))", isTransient: true)
        }
    }

    static func streamError(path: String, errno code: Int32) -> CaptureError {
        if code == ENODEV || code == EIO || code == ENXIO {
            return CaptureError("\(path): the camera went away (\(String(cString: strerror(code))))", isTransient: true)
        }
        return CaptureError("\(path): dequeuing a frame failed: \(String(cString: strerror(code)))", isTransient: true)
    }

    static func formats(fd: Int32) -> [String] {
        var names: [String] = []
        var description = v4l2_fmtdesc()
        description.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        while (try? call(fd, storehub_VIDIOC_ENUM_FMT, &description)) != nil {
            names.append(name(description.pixelformat))
            description.index += 1
        }
        return names
    }

    static func fourcc(_ name: String) -> UInt32 {
        let bytes = Array(name.utf8)
        return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    /// The four characters, with `-BE` for the big-endian variants of a format (as v4l2-ctl writes them).
    static func name(_ fourcc: UInt32) -> String {
        let bigEndian: UInt32 = 1 << 31
        let bytes = (0..<4).map { UInt8(((fourcc & ~bigEndian) >> ($0 * 8)) & 0xFF) }
        let printable = bytes.map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }
        return String(decoding: printable, as: UTF8.self) + (fourcc & bigEndian != 0 ? "-BE" : "")
    }

    static func string<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// V4L2 timestamps are CLOCK_MONOTONIC; events carry wall-clock time.
    static func wallClock(_ timestamp: timeval) -> Date {
        var monotonic = timespec()
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        let nowMonotonic = Double(monotonic.tv_sec) + Double(monotonic.tv_nsec) / 1e9
        let captured = Double(timestamp.tv_sec) + Double(timestamp.tv_usec) / 1e6
        guard captured > 0 else { return Date() }
        return Date().addingTimeInterval(captured - nowMonotonic)
    }
}
