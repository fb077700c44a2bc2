import HubCore
import Testing

@Suite struct IPAddressTests {
    @Test(arguments: ["127.0.0.1", "10.1.2.3", "::1", "fe80::1", "2001:db8::8"])
    func addressLiteralsAreRecognised(_ host: String) {
        #expect(IPAddress.isLiteral(host))
    }

    /// Names, and numbers that only look like addresses (the uplink took any digits and dots for one).
    @Test(arguments: ["broker.shop.example", "localhost", "1.2", "999.1.1.1", "12345", "host:1883", ""])
    func namesAndMalformedNumbersAreNotAddresses(_ host: String) {
        #expect(!IPAddress.isLiteral(host))
    }

    @Test(arguments: [
        ("broker.shop.example", "broker.shop.example"), ("10.1.2.3", "10.1.2.3"), ("[::1]", "::1"),
        ("[fe80::1]", "fe80::1"), ("::1", "::1"), ("localhost", "localhost"),
    ])
    func namesAndAddressesAreTakenWithIPv6OutOfItsBrackets(_ written: String, _ host: String) throws {
        #expect(try IPAddress.connectableHost(written, port: 443) == host)
    }

    @Test(arguments: [
        "", "[broker.shop.example]", "[10.1.2.3]", "user@broker", "broker/x", "bro ker", "::1:1883x", ":",
    ])
    func whatIsNoHostIsRefused(_ written: String) {
        #expect(throws: ValidationError.self) { try IPAddress.connectableHost(written, port: 443) }
    }

    @Test(arguments: [0, -1, 65536, 99999])
    func portsOutsideOneTo65535AreRefused(_ port: Int) {
        #expect(throws: ValidationError.self) { try IPAddress.connectableHost("broker", port: port) }
    }
}
