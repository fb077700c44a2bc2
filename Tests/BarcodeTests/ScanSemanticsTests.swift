import Barcode
import Foundation
import HubCore
import Testing

@Suite struct ScanClassifierTests {
    private func rule(_ name: String, _ pattern: String?, _ symbologies: [String]? = nil) throws -> ScanClassifier.Rule
    {
        try ScanClassifier.Rule(name: name, pattern: pattern, symbologies: symbologies)
    }

    @Test func firstMatchingRuleNamesTheClass() throws {
        let classifier = ScanClassifier(rules: [
            try rule("pickup-order", "^PU-[0-9]{8}$"),
            try rule("product", nil, ["ean13", "upca"]),
            try rule("anything-qr", ".", ["qr"]),
        ])
        #expect(classifier.classify(symbology: .qr, text: "PU-20261201") == "pickup-order")
        #expect(classifier.classify(symbology: .ean13, text: "4006381333931") == "product")
        #expect(classifier.classify(symbology: .qr, text: "PU-2026120") == "anything-qr")
        #expect(classifier.classify(symbology: .code128, text: "STOREHUB-42") == nil)
    }

    @Test func scannerSymbologyNamesAreClassifiedByName() throws {
        let classifier = ScanClassifier(rules: [try rule("product", nil, ["ean13"]), try rule("pickup", "^PU-")])
        #expect(classifier.classify(symbologyName: "ean13", text: "4006381333931") == "product")
        #expect(classifier.classify(symbologyName: "gs1-128", text: "4006381333931") == nil)
        #expect(classifier.classify(symbologyName: "unknown", text: "PU-1") == "pickup")
    }

    @Test func symbologiesAndPatternMustBothMatch() throws {
        let classifier = ScanClassifier(rules: [try rule("qr-pickup", "^PU-", ["qr"])])
        #expect(classifier.classify(symbology: .qr, text: "PU-1") == "qr-pickup")
        #expect(classifier.classify(symbology: .code128, text: "PU-1") == nil)
    }

    @Test func invalidRulesSayWhichFieldIsWrong() {
        let cases: [(String, String?, [String]?, String)] = [
            ("bad", "^PU-[0-9", nil, "pattern"),
            ("bad", nil, ["qr", "qrcode"], "symbologies[1]"),
            ("", "x", nil, "name"),
            ("bad", nil, nil, ""),
            ("bad", nil, [], "symbologies"),
        ]
        for (name, pattern, symbologies, field) in cases {
            do {
                _ = try ScanClassifier.Rule(name: name, pattern: pattern, symbologies: symbologies)
                Issue.record("rule \(name) \(pattern ?? "-") was accepted")
            } catch {
                #expect(error.field == field, "\(error)")
            }
        }
    }
}

@Suite struct OncePerSessionTests {
    private func symbol(_ text: String) -> DecodedSymbol {
        DecodedSymbol(symbology: .qr, bytes: Array(text.utf8), text: text, gtin: nil, polygon: [], quality: 1)
    }

    /// Feeds (payload, seconds after start) sightings; returns which counted.
    private func admitted(_ filter: inout DuplicateFilter, _ sightings: [(String, Double)]) -> [Bool] {
        let start = Date()
        return sightings.map { filter.admit(symbol($0.0), at: start.addingTimeInterval($0.1)) }
    }

    @Test func payloadCountsOnceHoweverLongLater() {
        var filter = DuplicateFilter(scope: .session)
        #expect(admitted(&filter, [("PU-1", 0), ("PU-1", 5), ("PU-1", 86_400)]) == [true, false, false])
    }

    @Test func differentPayloadsEachCountOnce() {
        var filter = DuplicateFilter(scope: .session)
        #expect(admitted(&filter, [("A", 0), ("B", 0), ("A", 1), ("B", 1)]) == [true, true, false, false])
    }

    @Test func sameBytesInAnotherSymbologyAreAnotherPayload() {
        var filter = DuplicateFilter(scope: .session)
        var other = symbol("4006381333931")
        other.symbology = .ean13
        let first = filter.admit(symbol("4006381333931"), at: Date())
        let second = filter.admit(other, at: Date())
        #expect(first && second)
    }

    @Test func memoryIsBoundedAndTheOldestIsForgottenFirst() {
        var filter = DuplicateFilter(scope: .session, sessionCapacity: 3)
        #expect(admitted(&filter, [("A", 0), ("B", 0), ("C", 0), ("D", 0)]) == [true, true, true, true])
        #expect(filter.count == 3)
        // D is remembered; A was the oldest and is forgotten.
        #expect(admitted(&filter, [("D", 1), ("A", 1)]) == [false, true])
    }
}

@Suite struct MotionGateTests {
    @Test func stillNoisySceneIsSkippedAfterItSettles() {
        var gate = MotionGate()
        var decodedFrames = 0
        for index in 0..<40 {
            // Same scene, fresh sensor noise every frame.
            let frame = Fixture.frame(width: 320, height: 240, noise: 6, seed: UInt64(index + 1))
            if gate.shouldDecode(frame) {
                gate.decoded()
                decodedFrames += 1
            }
        }
        #expect(decodedFrames == gate.settleFrames + 1)
    }

    @Test func somethingHeldUpIsDecodedAndARefreshComesAnyway() throws {
        var gate = MotionGate()
        gate.refreshFrames = 30
        var seed: UInt64 = 1
        func still() -> Frame {
            seed += 1
            return Fixture.frame(width: 320, height: 240, noise: 6, seed: seed)
        }
        for _ in 0...gate.settleFrames where gate.shouldDecode(still()) { gate.decoded() }
        let settled = gate.shouldDecode(still())
        #expect(!settled)
        let code = try Fixture.image("qr-pickup.png")
        seed += 1
        let held = Fixture.frame(width: 320, height: 240, with: code, at: (100, 60), noise: 6, seed: seed)
        let heldUp = gate.shouldDecode(held)
        #expect(heldUp)
        gate.decoded()
        var decodedLater = 0
        for _ in 0..<(gate.settleFrames + 40) where gate.shouldDecode(still()) {
            gate.decoded()
            decodedLater += 1
        }
        // The code left again (motion, then settling), and one refresh after 30 still frames.
        #expect(decodedLater == gate.settleFrames + 1 + 1)
    }
}
