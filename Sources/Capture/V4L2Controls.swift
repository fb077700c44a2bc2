import CV4L2
import Foundation
import HubCore

/// A camera control (exposure, focus, brightness, ...) as the driver describes it.
package struct V4L2Control: Sendable, Codable, Equatable {
    /// The name descriptors use: the driver's name in lower case with `_` between words, as `v4l2-ctl` prints
    /// it ("Exposure Time, Absolute" is `exposure_time_absolute`).
    package var name: String
    /// `integer`, `boolean`, `menu`, `integer-menu`, `button`, ...
    package var type: String
    package var minimum: Int
    package var maximum: Int
    package var step: Int
    package var defaultValue: Int
    /// The current value, when the driver lets it be read.
    package var value: Int?
    /// Set by the driver while another control is in automatic mode (exposure while auto exposure is on).
    package var inactive: Bool

    /// The descriptor name of a driver's control name.
    package static func descriptorName(_ driverName: String) -> String {
        var name = ""
        for scalar in driverName.unicodeScalars {
            if scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                name.unicodeScalars.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else if !name.isEmpty && !name.hasSuffix("_") {
                name.append("_")
            }
        }
        while name.hasSuffix("_") { name.removeLast() }
        return name
    }
}

/// Reading and setting controls on an open V4L2 file descriptor.
enum V4L2Controls {
    /// Every control the device has, with its id, in the driver's order. Control classes are left out.
    static func list(fd: Int32) -> [(id: UInt32, control: V4L2Control)] {
        var result: [(id: UInt32, control: V4L2Control)] = []
        var query = v4l2_queryctrl()
        query.id = storehub_V4L2_CTRL_FLAG_NEXT_CTRL
        while (try? V4L2.call(fd, storehub_VIDIOC_QUERYCTRL, &query)) != nil, result.count < 256 {
            let id = query.id
            query.id |= storehub_V4L2_CTRL_FLAG_NEXT_CTRL
            if query.flags & UInt32(V4L2_CTRL_FLAG_DISABLED) != 0
                || query.type == V4L2_CTRL_TYPE_CTRL_CLASS.rawValue
            {
                continue
            }
            var value: Int?
            if query.flags & UInt32(V4L2_CTRL_FLAG_WRITE_ONLY) == 0, query.type != V4L2_CTRL_TYPE_BUTTON.rawValue {
                var current = v4l2_control(id: id, value: 0)
                if (try? V4L2.call(fd, storehub_VIDIOC_G_CTRL, &current)) != nil { value = Int(current.value) }
            }
            let control = V4L2Control(
                name: V4L2Control.descriptorName(V4L2.string(query.name)), type: typeName(query.type),
                minimum: Int(query.minimum), maximum: Int(query.maximum), step: Int(query.step),
                defaultValue: Int(query.default_value), value: value,
                inactive: query.flags & UInt32(V4L2_CTRL_FLAG_INACTIVE) != 0)
            result.append((id, control))
        }
        return result
    }

    /// Sets the descriptor's controls and returns a sentence for each one that could not be set; the camera
    /// keeps working with the driver's value for those.
    ///
    /// Automatic modes go first: a manual exposure or focus value is only accepted once its automatic mode is off.
    static func apply(_ wanted: [String: Int], fd: Int32, path: String) -> [String] {
        guard !wanted.isEmpty else { return [] }
        let available = list(fd: fd)
        let order = wanted.keys.sorted { a, b in
            let (autoA, autoB) = (a.contains("auto"), b.contains("auto"))
            return autoA != autoB ? autoA : a < b
        }
        var problems: [String] = []
        for name in order {
            let value = wanted[name]!
            guard let (id, control) = available.first(where: { $0.control.name == name }) else {
                let names = available.map(\.control.name).joined(separator: ", ")
                problems.append("control '\(name)' does not exist on \(path) (it has: \(names))")
                continue
            }
            guard (control.minimum...control.maximum).contains(value) else {
                problems.append(
                    "control '\(name)' = \(value) is outside \(control.minimum)...\(control.maximum) on \(path)")
                continue
            }
            var setting = v4l2_control(id: id, value: Int32(value))
            do throws(SystemCallError) {
                try V4L2.call(fd, storehub_VIDIOC_S_CTRL, &setting)
            } catch {
                problems.append("control '\(name)' = \(value) refused by \(path): \(error.reason)")
            }
        }
        return problems
    }

    private static func typeName(_ type: UInt32) -> String {
        switch type {
        case V4L2_CTRL_TYPE_INTEGER.rawValue: "integer"
        case V4L2_CTRL_TYPE_BOOLEAN.rawValue: "boolean"
        case V4L2_CTRL_TYPE_MENU.rawValue: "menu"
        case V4L2_CTRL_TYPE_INTEGER_MENU.rawValue: "integer-menu"
        case V4L2_CTRL_TYPE_BUTTON.rawValue: "button"
        case V4L2_CTRL_TYPE_INTEGER64.rawValue: "integer64"
        case V4L2_CTRL_TYPE_BITMASK.rawValue: "bitmask"
        case V4L2_CTRL_TYPE_STRING.rawValue: "string"
        default: "other"
        }
    }
}
