import Config
import Foundation
import HubCore
import StoreHubTestSupport
import Testing

@testable import Server

@Suite struct TLSIdentityTests {
    @Test func firstLoadMakesACertificateAndTheNextReusesIt() throws {
        let folder = try TemporaryFolder("tls")
        let state = folder.url
        let first = try TLSIdentity.load(
            settings: TLSSettings(), configDirectory: state, stateDirectory: state, hostNames: ["shop-box"])
        #expect(first.generated)
        let keyMode = try FileManager.default.attributesOfItem(atPath: first.keyPath)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let second = try TLSIdentity.load(
            settings: TLSSettings(), configDirectory: state, stateDirectory: state, hostNames: ["shop-box"])
        #expect(!second.generated)
        #expect(second.fingerprint == first.fingerprint)
        #expect(first.fingerprint.split(separator: ":").count == 32)
    }

    @Test func missingConfiguredCertificateIsAClearError() throws {
        let folder = try TemporaryFolder("tls")
        let state = folder.url
        let error = #expect(throws: TLSSetupError.self) {
            try TLSIdentity.load(
                settings: TLSSettings(certificateFile: "nope.pem", keyFile: "nope-key.pem"), configDirectory: state,
                stateDirectory: state, hostNames: [])
        }
        #expect(error?.description.contains("nope.pem") == true)
    }

    @Test func addressLiteralsAreRecognised() {
        #expect(TLSIdentity.ipAddressBytes("127.0.0.1") == [127, 0, 0, 1])
        #expect(TLSIdentity.ipAddressBytes("::1")?.count == 16)
        #expect(TLSIdentity.ipAddressBytes("shop-box.local") == nil)
    }
}
