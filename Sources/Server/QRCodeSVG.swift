import CQREncode

/// QR codes the hub shows on customer screens (share links), encoded by libqrencode and drawn as SVG.
enum QRCodeSVG {
    /// Longest text encoded: a share URL, with room to spare; longer texts are refused rather than made into codes
    /// a phone can hardly read.
    static let maxBytes = 512

    /// The QR code of `text` (8-bit mode, error correction M) as an SVG document: one path of dark modules on a
    /// white square with the standard four-module quiet zone. Nil when the text is empty, too long, holds a NUL, or
    /// libqrencode fails.
    static func svg(for text: String) -> String? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= maxBytes, !bytes.contains(0) else { return nil }
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let modules = UnsafeBufferPointer(start: code.pointee.data, count: width * width)
        let quiet = 4
        let size = width + 2 * quiet
        var path = ""
        path.reserveCapacity(width * width * 4)
        for y in 0..<width {
            var x = 0
            while x < width {
                // Bit 0 of each module's byte is its colour (1: dark); runs of dark modules become one rectangle.
                guard modules[y * width + x] & 1 == 1 else {
                    x += 1
                    continue
                }
                let start = x
                while x < width && modules[y * width + x] & 1 == 1 { x += 1 }
                path += "M\(start + quiet) \(y + quiet)h\(x - start)v1h-\(x - start)z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(size) \(size)" shape-rendering="crispEdges">\
            <rect width="\(size)" height="\(size)" fill="#fff"/><path d="\(path)" fill="#000"/></svg>
            """
    }
}
