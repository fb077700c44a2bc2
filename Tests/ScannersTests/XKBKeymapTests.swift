import Foundation
import Scanners
import Testing

/// Key translation with the real libxkbcommon and the layouts of xkb-data.
@Suite struct XKBKeymapTests {
    // evdev key codes (linux/input-event-codes.h)
    static let keyY: UInt16 = 21
    static let keyZ: UInt16 = 44
    static let key2: UInt16 = 3
    static let key3: UInt16 = 4
    static let key7: UInt16 = 8
    static let keyQ: UInt16 = 16
    static let keyA: UInt16 = 30
    static let keyMinus: UInt16 = 12
    static let keySlash: UInt16 = 53
    static let keyDot: UInt16 = 52
    static let keySemicolon: UInt16 = 39
    static let keyBackslash: UInt16 = 43
    static let leftShift: UInt16 = 42
    static let rightAlt: UInt16 = 100
    static let capsLock: UInt16 = 58
    static let enter: UInt16 = 28
    static let tab: UInt16 = 15

    /// Presses `modifiers`, taps `key`, releases the modifiers; returns what the tap typed.
    private func type(_ key: UInt16, with modifiers: [UInt16] = [], on keyboard: XKBKeyboard) -> WedgeKey? {
        for modifier in modifiers { #expect(keyboard.key(modifier, pressed: true) == nil) }
        let meaning = keyboard.key(key, pressed: true)
        _ = keyboard.key(key, pressed: false)
        for modifier in modifiers.reversed() { _ = keyboard.key(modifier, pressed: false) }
        return meaning
    }

    @Test func usAndGermanSwapYAndZ() throws {
        let us = try XKBKeymap(layout: "us").makeKeyboard()
        let de = try XKBKeymap(layout: "de").makeKeyboard()
        #expect(type(Self.keyY, on: us) == .text("y"))
        #expect(type(Self.keyZ, on: us) == .text("z"))
        #expect(type(Self.keyY, on: de) == .text("z"))
        #expect(type(Self.keyZ, on: de) == .text("y"))
    }

    @Test func symbolsThatDifferBetweenUsAndGerman() throws {
        let us = try XKBKeymap(layout: "us").makeKeyboard()
        let de = try XKBKeymap(layout: "de").makeKeyboard()
        // @: Shift+2 on us, AltGr+Q on de.
        #expect(type(Self.key2, with: [Self.leftShift], on: us) == .text("@"))
        #expect(type(Self.key2, with: [Self.leftShift], on: de) == .text("\""))
        #expect(type(Self.keyQ, with: [Self.rightAlt], on: de) == .text("@"))
        // #: Shift+3 on us, its own key on de.
        #expect(type(Self.key3, with: [Self.leftShift], on: us) == .text("#"))
        #expect(type(Self.keyBackslash, on: de) == .text("#"))
        // -: right of 0 on us, right of . on de (the us / key).
        #expect(type(Self.keyMinus, on: us) == .text("-"))
        #expect(type(Self.keySlash, on: de) == .text("-"))
        #expect(type(Self.keyMinus, on: de) == .text("ß"))
        // / and : differ too.
        #expect(type(Self.keySlash, on: us) == .text("/"))
        #expect(type(Self.key7, with: [Self.leftShift], on: de) == .text("/"))
        #expect(type(Self.keySemicolon, with: [Self.leftShift], on: us) == .text(":"))
        #expect(type(Self.keyDot, with: [Self.leftShift], on: de) == .text(":"))
    }

    @Test func capsLockShiftAndTerminators() throws {
        let us = try XKBKeymap(layout: "us").makeKeyboard()
        #expect(type(Self.keyA, on: us) == .text("a"))
        #expect(type(Self.keyA, with: [Self.leftShift], on: us) == .text("A"))
        _ = type(Self.capsLock, on: us)
        #expect(type(Self.keyA, on: us) == .text("A"))
        #expect(type(Self.keyA, with: [Self.leftShift], on: us) == .text("a"))
        #expect(type(Self.key2, on: us) == .text("2"), "Caps Lock does not shift digits")
        _ = type(Self.capsLock, on: us)
        #expect(type(Self.keyA, on: us) == .text("a"))
        #expect(type(Self.enter, on: us) == .enter)
        #expect(type(Self.tab, on: us) == .tab)
        #expect(type(Self.leftShift, on: us) == nil)
    }

    @Test func reverseMappingTypesBackTheSameTextUnderEachLayout() throws {
        let text = "AZaz09-/:@#.+_()?!=*%$&,;'\"<>yYzZ"
        for layout in ["us", "de", "fr"] {
            let keymap = try XKBKeymap(layout: layout)
            let keyboard = keymap.makeKeyboard()
            var typed = ""
            for stroke in try keymap.keystrokes(for: text) {
                if case .text(let piece)? = type(stroke.code, with: stroke.modifiers, on: keyboard) { typed += piece }
            }
            #expect(typed == text, "layout \(layout)")
        }
    }

    @Test func germanKeystrokesForYAndAtDifferFromUs() throws {
        let us = try XKBKeymap(layout: "us").keystrokes(for: "y@")
        let de = try XKBKeymap(layout: "de").keystrokes(for: "y@")
        #expect(us[0].code == Self.keyY && de[0].code == Self.keyZ)
        #expect(de[1] == XKBKeymap.Keystroke(code: Self.keyQ, modifiers: [Self.rightAlt]))
    }

    @Test func unknownLayoutIsAClearError() {
        #expect {
            try XKBKeymap(layout: "xx-no-such-layout")
        } throws: { error in
            (error as? ScannerError)?.message.contains("'xx-no-such-layout' is not in xkb-data") == true
        }
        #expect(throws: ScannerError.self) { try XKBKeymap(layout: "de", variant: "no-such-variant") }
    }
}
