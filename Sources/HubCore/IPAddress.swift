import Foundation

/// IP address literals in configured hosts (broker and webhook URLs).
package enum IPAddress {
    /// Whether `host` is an IPv4 or IPv6 address literal (then TLS sends no server name for it), rather than a name.
    package static func isLiteral(_ host: String) -> Bool {
        isIPv4(host) || isIPv6(host)
    }

    /// Checks the host and port of a service the hub connects to (an MQTT broker, a webhook sink), written as in a
    /// URL: a name or an IPv4 address, or an IPv6 address in brackets; a port from 1 to 65535. Returns the host as
    /// the resolver and TLS take it: an IPv6 address without its brackets.
    ///
    /// The uplink and the sinks both check their addresses here, so a URL one of them takes the other takes too. An
    /// IPv6 address already without brackets is taken as well (URL parsers differ in whether they keep them).
    package static func connectableHost(_ written: String, port: Int) throws(ValidationError) -> String {
        guard (1...65535).contains(port) else { throw ValidationError("port \(port) is out of range (1 to 65535)") }
        if written.hasPrefix("[") && written.hasSuffix("]") {
            let inside = String(written.dropFirst().dropLast())
            guard isIPv6(inside) else { throw ValidationError("\(written) is not an IPv6 address in brackets") }
            return inside
        }
        if isIPv6(written) { return written }
        guard !written.isEmpty else { throw ValidationError("the host is missing") }
        guard written.unicodeScalars.allSatisfy(isNameScalar) else {
            throw ValidationError("\"\(written)\" is not a host name or address (an IPv6 address goes in brackets)")
        }
        return written
    }

    /// Not a space, a control character or a character that delimits a URL's authority.
    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value > 32 && scalar.value != 127 && !"/@:[]?#".unicodeScalars.contains(scalar)
    }

    private static func isIPv4(_ host: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, host, &address) == 1
    }

    private static func isIPv6(_ host: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, host, &address) == 1
    }
}
