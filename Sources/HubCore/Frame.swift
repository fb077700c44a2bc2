import Foundation

/// A pixel layout that the pipelines understand.
package enum PixelFormat: String, Sendable, Codable {
    /// 8-bit luma only (V4L2 GREY, zbar Y800).
    case grey
    /// Packed 4:2:2, Y0 U Y1 V.
    case yuyv
    /// Planar luma followed by interleaved CbCr at half resolution.
    case nv12
}

/// Pixel memory that a frame borrows.
///
/// Allocated once by a frame source and reused for every frame it delivers, so the hot path allocates
/// nothing. The source writes only while no consumer holds a frame that points here.
package final class FrameBuffer: @unchecked Sendable {
    // @unchecked: the bytes are written by the owning source between deliveries only; consumers read.
    package let bytes: UnsafeMutableRawBufferPointer
    private let owned: Bool

    package init(capacity: Int) {
        bytes = .allocate(byteCount: capacity, alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        owned = true
    }

    /// Wraps memory someone else owns (a driver's mapped buffer); it must outlive every frame that uses it.
    package init(borrowing memory: UnsafeMutableRawBufferPointer) {
        bytes = memory
        owned = false
    }

    deinit { if owned { bytes.deallocate() } }
}

/// One captured image and where it came from.
package struct Frame: Sendable {
    package var format: PixelFormat
    package var width: Int
    package var height: Int
    /// Bytes from the start of one luma row to the next.
    package var bytesPerRow: Int
    /// When the sensor captured it (V4L2 buffer timestamp, or replay time), wall clock.
    package var captureTime: Date
    /// Counts frames delivered by the source, from 0.
    package var index: UInt64
    package var buffer: FrameBuffer

    package init(
        format: PixelFormat, width: Int, height: Int, bytesPerRow: Int, captureTime: Date, index: UInt64,
        buffer: FrameBuffer
    ) {
        self.format = format
        self.width = width
        self.height = height
        self.bytesPerRow = bytesPerRow
        self.captureTime = captureTime
        self.index = index
        self.buffer = buffer
    }

    /// The luma plane in place: for GREY and NV12 the first plane; YUYV has no separate plane.
    package var lumaPlane: UnsafeRawBufferPointer? {
        switch format {
        case .grey, .nv12:
            return UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<(bytesPerRow * height)])
        case .yuyv:
            return nil
        }
    }
}
