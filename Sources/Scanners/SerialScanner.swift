import CLinuxInput
import Config
import Foundation
import HubCore

/// Serial scanners (RS-232 adapters, USB CDC/ACM) through termios: raw mode with the descriptor's line settings.
package enum SerialScanner {
    package static func source(settings: ScannerSettings, serial: ScannerSettings.Serial) -> ScannerDevice {
        let maxLength = settings.maxLength
        return ScannerDevice(
            description: "serial scanner \(serial.path)", formatter: ScanFormatter(settings),
            open: { () throws(ScannerError) -> any ScannerPort in
                try SerialPort(
                    serial,
                    framer: SerialFramer(
                        framing: serial.framing, maxLength: maxLength, timeoutMs: serial.frameTimeoutMs))
            },
            waitForDevice: { limit in try await waitForPath(serial.path, upTo: limit) })
    }

    static func speed(_ baud: Int) -> speed_t? {
        switch baud {
        case 1200: speed_t(B1200)
        case 2400: speed_t(B2400)
        case 4800: speed_t(B4800)
        case 9600: speed_t(B9600)
        case 19200: speed_t(B19200)
        case 38400: speed_t(B38400)
        case 57600: speed_t(B57600)
        case 115_200: speed_t(B115200)
        case 230_400: speed_t(B230400)
        case 460_800: speed_t(B460800)
        case 921_600: speed_t(B921600)
        default: nil
        }
    }
}

/// An open, configured tty. Used only on its ScannerDevice's queue.
final class SerialPort: ScannerPort {
    let fd: Int32
    let path: String
    private var framer: SerialFramer
    private var buffer = [UInt8](repeating: 0, count: 4096)

    init(_ serial: ScannerSettings.Serial, framer: SerialFramer) throws(ScannerError) {
        let path = serial.path
        let fd = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw ScannerError.open(path, errno, what: "serial port", group: "dialout") }
        var options = termios()
        do throws(SystemCallError) {
            _ = try SystemCall.run("tcgetattr") { tcgetattr(fd, &options) }
        } catch {
            Glibc.close(fd)
            throw ScannerError(
                "\(path) is not a serial port (terminal settings cannot be read); check scanner.path",
                cause: error.reason, isTransient: false)
        }
        _ = try? SystemCall.run("ioctl") { storehub_tty_exclusive(fd) }
        cfmakeraw(&options)
        options.c_cflag |= tcflag_t(CLOCAL | CREAD)
        options.c_cflag &= ~(tcflag_t(CSIZE | PARENB | PARODD | CSTOPB) | tcflag_t(CRTSCTS))
        options.c_cflag |= tcflag_t(serial.dataBits == 7 ? CS7 : CS8)
        if serial.stopBits == 2 { options.c_cflag |= tcflag_t(CSTOPB) }
        switch serial.parity {
        case .none: break
        case .even: options.c_cflag |= tcflag_t(PARENB)
        case .odd: options.c_cflag |= tcflag_t(PARENB | PARODD)
        }
        // A byte with a parity error reads as NUL, which the framer reports as unreadable.
        if serial.parity != .none { options.c_iflag |= tcflag_t(INPCK) }
        options.c_iflag &= ~tcflag_t(IXON | IXOFF | IXANY)
        switch serial.flowControl {
        case .none: break
        case .rtscts: options.c_cflag |= tcflag_t(CRTSCTS)
        case .xonxoff: options.c_iflag |= tcflag_t(IXON | IXOFF)
        }
        let speed = SerialScanner.speed(serial.baud) ?? speed_t(B9600)
        cfsetispeed(&options, speed)
        cfsetospeed(&options, speed)
        do throws(SystemCallError) {
            _ = try SystemCall.run("tcsetattr") { tcsetattr(fd, TCSANOW, &options) }
        } catch {
            Glibc.close(fd)
            throw ScannerError(
                "\(path) refused the line settings (\(serial.baud) baud, \(serial.dataBits) data bits, parity "
                    + "\(serial.parity.rawValue), \(serial.stopBits) stop bits)", cause: error.reason,
                isTransient: false)
        }
        // Whatever arrived before the port was set up was read with other settings.
        _ = try? SystemCall.run("tcflush") { tcflush(fd, TCIFLUSH) }
        self.fd = fd
        self.path = path
        self.framer = framer
    }

    var deadline: Date? { framer.deadline }

    func read() throws(ScannerError) -> [AssembledInput] {
        // A Result, since withUnsafeMutableBytes would rethrow the ScannerError untyped.
        try buffer.withUnsafeMutableBytes { bytes in
            Result { () throws(ScannerError) in
                try readAvailable(into: bytes, goneErrors: [EIO, ENODEV, ENXIO]) { framer.feed($0, at: Date()) }
            }
        }.get()
    }

    func idle(at now: Date) -> [AssembledInput] { framer.idle(at: now) }

    func hangUp() -> ScannerError {
        ScannerError("\(path): the serial port hung up (scanner unplugged?)", isTransient: true)
    }

    func close() { Glibc.close(fd) }
}
