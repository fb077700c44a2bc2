import Capture
import Foundation
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

    @Test func nextBeforeOpenIsAnErrorNotACrash() async {
        let camera = V4L2Camera(path: "/dev/video99")
        await #expect(throws: CaptureError.self) { _ = try await camera.next() }
    }
}
