import CXKBCommon
import Foundation

/// A keyboard layout compiled by libxkbcommon from the xkb-data files (`us`, `de`, `fr`, ... and a variant).
///
/// No X server is involved: the rules `evdev` and model `pc105` describe a plain USB keyboard, which is what a
/// keyboard-wedge scanner pretends to be. The environment (XKB_DEFAULT_*) is ignored so that a layout means the
/// same on every box.
package final class XKBKeymap: @unchecked Sendable {
    // @unchecked: a compiled xkb_keymap is immutable, and libxkbcommon allows sharing it between threads.
    package let layout: String
    package let variant: String?
    let keymap: OpaquePointer

    /// Compiles the layout; the error says when xkb-data has no such layout or variant.
    package init(layout: String, variant: String? = nil) throws(ScannerError) {
        self.layout = layout
        self.variant = variant
        guard let context = xkb_context_new(XKB_CONTEXT_NO_ENVIRONMENT_NAMES) else {
            throw ScannerError("libxkbcommon could not start", isTransient: false)
        }
        defer { xkb_context_unref(context) }
        // Failures are reported below in StoreHub's own words; libxkbcommon's stderr lines would only repeat them.
        xkb_context_set_log_level(context, XKB_LOG_LEVEL_CRITICAL)
        let compiled = "evdev".withCString { rules in
            "pc105".withCString { model in
                layout.withCString { layoutName in
                    withOptionalCString(variant) { variantName in
                        var names = xkb_rule_names(
                            rules: rules, model: model, layout: layoutName, variant: variantName, options: nil)
                        return xkb_keymap_new_from_names(context, &names, XKB_KEYMAP_COMPILE_NO_FLAGS)
                    }
                }
            }
        }
        guard let compiled else {
            let name = variant.map { "\(layout) (variant \($0))" } ?? layout
            throw ScannerError(
                "keyboard layout '\(name)' is not in xkb-data; use a layout name such as us, de, fr, gb, it, es",
                isTransient: false)
        }
        keymap = compiled
    }

    deinit { xkb_keymap_unref(keymap) }

    /// A fresh keyboard state (no modifiers held, Caps Lock off) for one device.
    package func makeKeyboard() -> XKBKeyboard { XKBKeyboard(keymap: self) }

    /// A keyboard state with `held` keys down (evdev codes), after events were lost. Caps Lock's latch cannot be
    /// read back from a device without LEDs and starts off.
    package func makeKeyboard(holding held: [UInt16]) -> XKBKeyboard {
        let keyboard = XKBKeyboard(keymap: self)
        for code in held { keyboard.update(code, pressed: true) }
        return keyboard
    }

    /// One key press that types a character: the evdev key code and the modifier keys held around it.
    package struct Keystroke: Sendable, Equatable {
        package var code: UInt16
        package var modifiers: [UInt16]

        package init(code: UInt16, modifiers: [UInt16]) {
            self.code = code
            self.modifiers = modifiers
        }
    }

    /// evdev codes of the modifier keys tried when reverse-mapping: none, Shift, AltGr, Shift+AltGr.
    static let leftShift: UInt16 = 42
    static let rightAlt: UInt16 = 100
    package static let enterKey: UInt16 = 28
    package static let tabKey: UInt16 = 15

    /// The keystrokes that type `text` under this layout, found by asking xkb what every key gives with each
    /// modifier combination (so typing and reading use the same tables). Throws for a character the layout
    /// cannot type without dead keys or compose.
    package func keystrokes(for text: String) throws(ScannerError) -> [Keystroke] {
        let table = reverseTable()
        var result: [Keystroke] = []
        for character in text {
            guard let stroke = table[String(character)] else {
                throw ScannerError(
                    "layout '\(layout)' has no key for \(character.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined())",
                    isTransient: false)
            }
            result.append(stroke)
        }
        return result
    }

    private func reverseTable() -> [String: Keystroke] {
        var table: [String: Keystroke] = [:]
        let combinations: [[UInt16]] = [[], [Self.leftShift], [Self.rightAlt], [Self.leftShift, Self.rightAlt]]
        // Main keys (1...83 without the keypad's 71...83) first, so digits come from the top row.
        let codes = Array(UInt16(1)...70) + Array(UInt16(84)...127) + Array(UInt16(71)...83)
        for code in codes {
            for modifiers in combinations {
                let keyboard = makeKeyboard()
                for modifier in modifiers { keyboard.update(modifier, pressed: true) }
                guard let text = keyboard.text(of: code), table[text] == nil else { continue }
                table[text] = Keystroke(code: code, modifiers: modifiers)
            }
        }
        return table
    }
}

/// What a key press means to a keyboard-wedge scanner.
package enum WedgeKey: Sendable, Equatable {
    /// Printable text (one character, or more for keys that type several).
    case text(String)
    case enter
    case tab
}

/// One device's keyboard state: which modifiers are held, whether Caps Lock is on.
///
/// Not thread-safe; owned by the device's read loop.
package final class XKBKeyboard {
    private let keymap: XKBKeymap
    private let state: OpaquePointer

    init(keymap: XKBKeymap) {
        self.keymap = keymap
        state = xkb_state_new(keymap.keymap)
    }

    deinit { xkb_state_unref(state) }

    /// Feeds an evdev key event (press or release; repeats are not fed). A press returns what it types: nil for
    /// modifiers and keys that type nothing (arrows, function keys, control combinations).
    package func key(_ code: UInt16, pressed: Bool) -> WedgeKey? {
        var meaning: WedgeKey?
        if pressed {
            // The key's own symbol is read before the state changes (xkbcommon's order for key presses).
            let keycode = xkb_keycode_t(code) + xkb_keycode_t(storehub_xkb_evdev_offset)
            switch Int32(bitPattern: xkb_state_key_get_one_sym(state, keycode)) {
            case XKB_KEY_Return, XKB_KEY_KP_Enter: meaning = .enter
            case XKB_KEY_Tab, XKB_KEY_ISO_Left_Tab: meaning = .tab
            default: meaning = text(of: code).map(WedgeKey.text)
            }
        }
        update(code, pressed: pressed)
        return meaning
    }

    func update(_ code: UInt16, pressed: Bool) {
        let keycode = xkb_keycode_t(code) + xkb_keycode_t(storehub_xkb_evdev_offset)
        xkb_state_update_key(state, keycode, pressed ? XKB_KEY_DOWN : XKB_KEY_UP)
    }

    /// The printable text the key types in the current state, nil for none or control characters.
    func text(of code: UInt16) -> String? {
        let keycode = xkb_keycode_t(code) + xkb_keycode_t(storehub_xkb_evdev_offset)
        var buffer = [CChar](repeating: 0, count: 16)
        let length = xkb_state_key_get_utf8(state, keycode, &buffer, buffer.count)
        guard length > 0, Int(length) < buffer.count else { return nil }
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else { return nil }
        return text
    }
}

private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
