import Foundation

/// IP address literals in configured hosts (broker and webhook URLs).
package enum IPAddress {
    /// Whether `host` is an IPv4 or IPv6 address literal (then TLS sends no server name for it), rather than a name.
    package static func isLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
