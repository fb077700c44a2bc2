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
}
