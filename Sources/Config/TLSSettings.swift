/// TLS on the hub's listener (`listen.tls` in hub.json).
///
/// With `enabled` and no certificate, the hub makes a self-signed certificate and key in its state directory on
/// first run and reuses them afterwards. Relative paths are relative to the config file's folder.
package struct TLSSettings: Sendable, Decodable, Equatable {
    package var enabled: Bool
    /// PEM certificate chain, the server's certificate first; nil: the generated one.
    package var certificateFile: String?
    /// PEM private key of that certificate; given together with `certificateFile`.
    package var keyFile: String?

    package init(enabled: Bool = true, certificateFile: String? = nil, keyFile: String? = nil) {
        self.enabled = enabled
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case enabled, certificateFile, keyFile }

    package init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
        certificateFile = try c.decodeIfPresent(String.self, forKey: .certificateFile)
        keyFile = try c.decodeIfPresent(String.self, forKey: .keyFile)
        if (certificateFile == nil) != (keyFile == nil) {
            throw DecodingError.dataCorruptedError(
                forKey: certificateFile == nil ? .certificateFile : .keyFile, in: c,
                debugDescription:
                    "certificateFile and keyFile go together (give both, or neither for a generated certificate)")
        }
    }
}
