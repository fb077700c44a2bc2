import CV4L2
import Foundation
import HubCore

/// What a V4L2 device says about itself, for `storehub devices`.
package struct V4L2DeviceInfo: Sendable, Codable, Equatable {
    package var path: String
    package var driver: String
    package var card: String
    package var busInfo: String
    package var capabilities: [String]
    package var formats: [Format]
    /// Controls with their ranges and current values, named as descriptors name them.
    package var controls: [V4L2Control]

    package struct Format: Sendable, Codable, Equatable {
        package var fourcc: String
        package var description: String
        /// `WIDTHxHEIGHT` with the frame rates offered at that size.
        package var sizes: [Size]
    }

    package struct Size: Sendable, Codable, Equatable {
        package var width: Int
        package var height: Int
        package var fps: [Double]
    }

    /// Queries the device at `path`. Errors say what is wrong (missing, permission, not a camera).
    package static func query(_ path: String) throws(CaptureError) -> V4L2DeviceInfo {
        let fd = storehub_v4l2_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw V4L2.openError(path: path, errno: errno) }
        defer { _ = storehub_v4l2_close(fd) }
        var capability = v4l2_capability()
        try V4L2.ioctl(fd, storehub_VIDIOC_QUERYCAP, &capability, "\(path): QUERYCAP")
        let caps =
            capability.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0
            ? capability.device_caps : capability.capabilities
        let names: [(UInt32, String)] = [
            (UInt32(V4L2_CAP_VIDEO_CAPTURE), "video-capture"), (UInt32(V4L2_CAP_VIDEO_OUTPUT), "video-output"),
            (UInt32(V4L2_CAP_VIDEO_M2M), "m2m"), (UInt32(V4L2_CAP_META_CAPTURE), "metadata-capture"),
            (UInt32(V4L2_CAP_STREAMING), "streaming"), (UInt32(V4L2_CAP_READWRITE), "read-write"),
        ]
        var formats: [Format] = []
        var description = v4l2_fmtdesc()
        description.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        while caps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0,
            (try? V4L2.call(fd, storehub_VIDIOC_ENUM_FMT, &description)) != nil
        {
            formats.append(
                Format(
                    fourcc: V4L2.name(description.pixelformat), description: V4L2.string(description.description),
                    sizes: sizes(fd: fd, pixelFormat: description.pixelformat)))
            description.index += 1
        }
        return V4L2DeviceInfo(
            path: path, driver: V4L2.string(capability.driver), card: V4L2.string(capability.card),
            busInfo: V4L2.string(capability.bus_info), capabilities: names.filter { caps & $0.0 != 0 }.map(\.1),
            formats: formats, controls: V4L2Controls.list(fd: fd).map(\.control))
    }

    private static func sizes(fd: Int32, pixelFormat: UInt32) -> [Size] {
        var sizes: [Size] = []
        var size = v4l2_frmsizeenum()
        size.pixel_format = pixelFormat
        while (try? V4L2.call(fd, storehub_VIDIOC_ENUM_FRAMESIZES, &size)) != nil, sizes.count < 64 {
            if size.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                let width = size.discrete.width
                let height = size.discrete.height
                sizes.append(
                    Size(width: Int(width), height: Int(height), fps: rates(fd: fd, pixelFormat, width, height)))
            } else {
                let stepwise = size.stepwise
                sizes.append(Size(width: Int(stepwise.max_width), height: Int(stepwise.max_height), fps: []))
                break
            }
            size.index += 1
        }
        return sizes
    }

    private static func rates(fd: Int32, _ pixelFormat: UInt32, _ width: UInt32, _ height: UInt32) -> [Double] {
        var rates: [Double] = []
        var interval = v4l2_frmivalenum()
        interval.pixel_format = pixelFormat
        interval.width = width
        interval.height = height
        while (try? V4L2.call(fd, storehub_VIDIOC_ENUM_FRAMEINTERVALS, &interval)) != nil, rates.count < 32 {
            if interval.type == V4L2_FRMIVAL_TYPE_DISCRETE.rawValue, interval.discrete.numerator > 0 {
                let fps = Double(interval.discrete.denominator) / Double(interval.discrete.numerator)
                rates.append((fps * 1000).rounded() / 1000)
            }
            interval.index += 1
        }
        return rates
    }
}
