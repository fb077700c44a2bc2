import Config
import Crypto
import Foundation
import HTTPTypes
import HubCore
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import SwiftASN1
import X509

/// The certificate and key the listener presents when TLS is on.
///
/// Either the files named in the config, or a self-signed P-256 certificate that the hub makes in its state
/// directory on first run (`tls/hub-cert.pem`, `tls/hub-key.pem`, the key readable by the owner only) and reuses
/// afterwards, so clients that pinned its fingerprint keep trusting it across restarts.
package struct TLSIdentity: Sendable {
    /// Where the certificate came from: the config's file, or the generated one.
    package var certificatePath: String
    package var keyPath: String
    /// True when the hub made the certificate during this start.
    package var generated: Bool
    /// SHA-256 of the certificate's DER bytes, as `AB:CD:...`: what staff compare or pin.
    package var fingerprint: String
    package var configuration: TLSConfiguration

    /// Days a generated certificate is valid.
    package static let validityDays = 3650

    /// Loads the configured certificate, or the generated one (making it when absent).
    /// `configDirectory` anchors relative paths of the config; `hostNames` go into a generated certificate's names.
    package static func load(
        settings: TLSSettings, configDirectory: URL, stateDirectory: URL, hostNames: [String]
    ) throws -> TLSIdentity {
        var generated = false
        let certificatePath: String
        let keyPath: String
        if let certificateFile = settings.certificateFile, let keyFile = settings.keyFile {
            certificatePath =
                URL(fileURLWithPath: certificateFile, relativeTo: configDirectory).standardizedFileURL.path
            keyPath = URL(fileURLWithPath: keyFile, relativeTo: configDirectory).standardizedFileURL.path
        } else {
            let folder = stateDirectory.appendingPathComponent("tls")
            certificatePath = folder.appendingPathComponent("hub-cert.pem").path
            keyPath = folder.appendingPathComponent("hub-key.pem").path
            let manager = FileManager.default
            if !manager.fileExists(atPath: certificatePath) || !manager.fileExists(atPath: keyPath) {
                try makeSelfSigned(certificatePath: certificatePath, keyPath: keyPath, hostNames: hostNames)
                generated = true
            }
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw TLSSetupError("cannot read the TLS certificate \(certificatePath): \(error)")
        }
        guard let leaf = chain.first else {
            throw TLSSetupError("the TLS certificate file \(certificatePath) holds no PEM certificate")
        }
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw TLSSetupError("cannot read the TLS private key \(keyPath): \(error)")
        }
        let der = try leaf.toDERBytes()
        let fingerprint = SHA256.hash(data: der).map { String(format: "%02X", $0) }.joined(separator: ":")
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // TLS 1.0 and 1.1 are broken or deprecated (RFC 8996); every client the hub serves speaks 1.2 or 1.3.
        configuration.minimumTLSVersion = .tlsv12
        return TLSIdentity(
            certificatePath: certificatePath, keyPath: keyPath, generated: generated, fingerprint: fingerprint,
            configuration: configuration)
    }

    /// Writes a new self-signed certificate and its key. The key is written first, with mode 0600, and the
    /// certificate last, so a crash in between leaves no certificate without its key.
    static func makeSelfSigned(certificatePath: String, keyPath: String, hostNames: [String]) throws {
        let folder = (certificatePath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let privateKey = P256.Signing.PrivateKey()
        let issuerKey = Certificate.PrivateKey(privateKey)
        var names: [GeneralName] = []
        var seen = Set<String>()
        for name in ["localhost", "127.0.0.1", "::1"] + hostNames where seen.insert(name).inserted {
            if let address = ipAddressBytes(name) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: address[...])))
            } else if !name.isEmpty {
                names.append(.dnsName(name))
            }
        }
        let commonName = hostNames.first(where: { ipAddressBytes($0) == nil && !$0.isEmpty }) ?? "storehub"
        let subject = try DistinguishedName {
            OrganizationName("StoreHub")
            CommonName(commonName)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: issuerKey.publicKey, notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(Double(validityDays) * 86400), issuer: subject, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: issuerKey)
        try writeFile(keyPath, privateKey.pemRepresentation + "\n", mode: 0o600)
        try writeFile(certificatePath, try certificate.serializeAsPEM().pemString + "\n", mode: 0o644)
    }

    private static func writeFile(_ path: String, _ text: String, mode: mode_t) throws {
        let temporary = path + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw TLSSetupError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            throw TLSSetupError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// A NUL-terminated C string buffer as text.
    private static func cText(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address's bytes when `text` is an IPv4 or IPv6 literal.
    static func ipAddressBytes(_ text: String) -> [UInt8]? {
        // Plain byte buffers of the sizes of in_addr and in6_addr: inet_pton writes the address in network order.
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &v6) == 1 { return v6 }
        return nil
    }

    /// Names a generated certificate should carry for this machine: its host name (and `.local`), the configured
    /// listen host when it is a specific one, and the addresses of its network interfaces.
    package static func localNames(listenHost: String) -> [String] {
        var names: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        if gethostname(&buffer, buffer.count) == 0 {
            let host = cText(buffer)
            if !host.isEmpty {
                names.append(host)
                if !host.contains(".") { names.append(host + ".local") }
            }
        }
        if !["0.0.0.0", "::", ""].contains(listenHost) { names.append(listenHost) }
        var list: UnsafeMutablePointer<ifaddrs>?
        if getifaddrs(&list) == 0, let first = list {
            defer { freeifaddrs(list) }
            var entry: UnsafeMutablePointer<ifaddrs>? = first
            while let current = entry {
                if let address = current.pointee.ifa_addr {
                    var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    let family = Int32(address.pointee.sa_family)
                    let length =
                        family == AF_INET
                        ? socklen_t(MemoryLayout<sockaddr_in>.size) : socklen_t(MemoryLayout<sockaddr_in6>.size)
                    if family == AF_INET || family == AF_INET6,
                        getnameinfo(address, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0
                    {
                        let text = cText(host)
                        // Link-local IPv6 carries a zone (%eth0) that cannot go into a certificate.
                        if !text.contains("%") { names.append(text) }
                    }
                }
                entry = current.pointee.ifa_next
            }
        }
        return names
    }
}

/// TLS could not be set up: which file and why.
package struct TLSSetupError: Error, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}
