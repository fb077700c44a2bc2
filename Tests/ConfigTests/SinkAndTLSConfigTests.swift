import Config
import Foundation
import HubCore
import Testing

@Suite struct SinkAndTLSConfigTests {
    private func hubConfig(_ json: String) throws(ConfigError) -> HubConfig {
        try ConfigFile.decode(HubConfig.self, from: Data(json.utf8), file: "hub.json")
    }

    private func sinkConfig(_ sink: String) throws(ConfigError) -> HubConfig {
        try hubConfig(#"{"hub": "shop", "devices": "d", "sinks": [\#(sink)]}"#)
    }

    @Test func sinkGetsDefaultsForRetries() throws {
        let config = try sinkConfig(#"{"name": "orders", "url": "http://10.0.0.5:9000/hook", "topics": ["scan.>"]}"#)
        let sink = try #require(config.sinks.first)
        #expect(sink.maxAttempts == 8)
        #expect(sink.retryDelaySeconds == 0.5)
        #expect(sink.maxRetryDelaySeconds == 60)
        #expect(sink.headers.isEmpty)
    }

    @Test func sinkURLMustBeHTTP() {
        let error = #expect(throws: ConfigError.self) {
            try sinkConfig(#"{"name": "orders", "url": "mqtt://broker/x", "topics": ["scan.>"]}"#)
        }
        #expect(error?.keyPath == "sinks[0].url")
    }

    @Test func badTopicPatternNamesItsIndex() {
        let error = #expect(throws: ConfigError.self) {
            try sinkConfig(#"{"name": "orders", "url": "http://h/x", "topics": ["scan.>", "a..b"]}"#)
        }
        #expect(error?.keyPath == "sinks[0].topics[1]")
    }

    @Test func twoSinksWithOneNameAreRefused() {
        let sink = #"{"name": "orders", "url": "http://h/x", "topics": ["scan.>"]}"#
        let error = #expect(throws: ConfigError.self) {
            try hubConfig(#"{"hub": "shop", "devices": "d", "sinks": [\#(sink), \#(sink)]}"#)
        }
        #expect(error?.problem.contains("two sinks are named \"orders\"") == true)
    }

    @Test func headerValueWithALineBreakIsRefused() {
        let error = #expect(throws: ConfigError.self) {
            try sinkConfig(
                #"{"name": "o", "url": "http://h/x", "topics": ["scan.>"], "headers": {"X-A": "1\r\nX-B: 2"}}"#)
        }
        #expect(error?.keyPath == "sinks[0].headers")
    }

    @Test func displayURLDropsCredentialsAndQuery() throws {
        let config = try sinkConfig(
            #"{"name": "o", "url": "https://user:pw@orders.example:8443/hook?key=abc", "topics": ["scan.>"]}"#)
        #expect(config.sinks[0].displayURL == "https://orders.example:8443/hook")
    }

    @Test func tlsObjectTurnsTLSOnWithAGeneratedCertificate() throws {
        let config = try hubConfig(#"{"hub": "shop", "devices": "d", "listen": {"tls": {}}}"#)
        #expect(config.listen.tls == TLSSettings(enabled: true))
    }

    @Test func tlsCertificateWithoutKeyIsRefused() {
        let error = #expect(throws: ConfigError.self) {
            try hubConfig(#"{"hub": "shop", "devices": "d", "listen": {"tls": {"certificateFile": "c.pem"}}}"#)
        }
        #expect(error?.keyPath == "listen.tls.keyFile")
    }
}
