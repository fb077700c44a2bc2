import Capture
import Foundation
import HubCore
import Testing

/// What can be shown without a camera: the errors a shop meets first. Streaming itself is proven against the
/// kernel's vivid driver by scripts/vm-test.
@Suite struct V4L2CameraTests {
    @Test func missingDeviceIsTransientAndSaysItIsNotPluggedIn() async {
        let camera = V4L2Camera(path: "/dev/v4l/by-id/storehub-test-no-such-camera")
        let error = await #expect(throws: CaptureError.self) { try await camera.open() }
        #expect(error?.isTransient == true)
        #expect(error?.message.contains("does not exist") == true)
    }

    @Test func aFileThatIsNoCameraIsAPermanentError() async {
        let camera = V4L2Camera(path: "/dev/null")
        let error = await #expect(throws: CaptureError.self) { try await camera.open() }
        #expect(error?.isTransient == false)
        #expect(error?.message.contains("/dev/null") == true)
    }

    /// The supervisor reads only `DeviceFailure`: a file that is no camera must tell it not to retry, and say what
    /// to fix.
    @Test func aFileThatIsNoCameraTellsTheSupervisorNotToRetry() async throws {
        let camera = V4L2Camera(path: "/dev/null")
        let error = await #expect(throws: CaptureError.self) { try await camera.open() }
        let failure = try #require(error.map { $0 as any DeviceFailure })
        #expect(!failure.isTransient)
        #expect(failure.description == "/dev/null is not a V4L2 camera; check camera.path in the descriptor")
    }

    @Test func controlNamesAreTheDriverNamesAsV4L2CtlWritesThem() {
        #expect(V4L2Control.descriptorName("Exposure Time, Absolute") == "exposure_time_absolute")
        #expect(V4L2Control.descriptorName("Focus, Automatic Continuous") == "focus_automatic_continuous")
        #expect(V4L2Control.descriptorName("White Balance Temperature") == "white_balance_temperature")
        #expect(V4L2Control.descriptorName("Percentage of Dropped Buffers") == "percentage_of_dropped_buffers")
        #expect(V4L2Control.descriptorName("Power Line Frequency ") == "power_line_frequency")
    }

    @Test func nextBeforeOpenIsAnErrorNotACrash() async {
        let camera = V4L2Camera(path: "/dev/video99")
        await #expect(throws: CaptureError.self) { _ = try await camera.next() }
    }
}
