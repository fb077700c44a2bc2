import Config
import Foundation
import Testing

@Suite struct AddressCheckTests {
    /// The uplink's broker URLs and the sinks' URLs go through the same check: each address is taken by both or by
    /// neither, and an IPv6 address ends up without its brackets in both.
    @Test(arguments: [
        ("broker.example:8883", "broker.example"), ("10.0.0.5:1884", "10.0.0.5"), ("[::1]:8883", "::1"),
        ("broker.example:0", nil), ("broker.example:70000", nil), ("[broker.example]:8883", nil),
        ("[fe80::1]:65535", "fe80::1"),
    ])
    func uplinkAndSinksTakeTheSameAddresses(_ authority: String, _ host: String?) throws {
        let broker = try? UplinkSettings.Broker(url: "mqtts://\(authority)")
        let json = #"{"name": "orders", "url": "https://\#(authority)/hook", "topics": ["scan.>"]}"#
        let sink = try? JSONDecoder().decode(SinkSettings.self, from: Data(json.utf8))
        #expect(broker?.host == host)
        #expect((sink != nil) == (host != nil))
    }
}
