import Bus
import NIOCore
import NIOWebSocket
import Synchronization

/// Writes what a bus session queues straight into its connection's channel, on the channel's event loop.
///
/// The thread that queues an event (the event log's writer after a commit, or a reading task) schedules one
/// pump on the event loop; the pump drains the session and writes the whole batch with one flush, so a batch
/// costs one write system call and no task switch per message. Frames enter the pipeline at its tail, as the
/// WebSocket stack's own frames do, and pass its frame encoder (and TLS). The bus offers no WebSocket
/// extension, so no frame needs an extension's processing.
///
/// The close handshake stays with the WebSocket stack: a close the session asks for comes out of `closes`,
/// after every message queued before it was written.
final class BusChannelWriter: Sendable {
    /// Bytes handed to the channel and not yet written to the socket at which the pump stops draining the
    /// session. What the client does not read then stays queued in the session, where
    /// `bus.maxQueuedBytesPerConnection` bounds it.
    static let highWater = 256 * 1024

    private let channel: any Channel
    private let session: BusSession
    private let scheduled = Atomic<Bool>(false)
    private let state = Mutex(PumpState())
    /// Yields the close the session asked for, once; finishes when the writer stops.
    let closes: AsyncStream<(code: UInt16, reason: String)>
    private let closeContinuation: AsyncStream<(code: UInt16, reason: String)>.Continuation

    private struct PumpState {
        /// Bytes written into the channel whose write has not completed.
        var inFlight = 0
        var pumping = false
        /// A close was handed on, or a write failed: nothing more is written.
        var stopped = false
    }

    init(channel: any Channel, session: BusSession) {
        self.channel = channel
        self.session = session
        (closes, closeContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Starts writing: from now on the session wakes this writer instead of its `wakeups` stream.
    func start() {
        session.setWaker { [self] in schedule() }
    }

    /// Asks for one pump on the event loop; wake-ups while one is pending fold into it.
    func schedule() {
        if scheduled.exchange(true, ordering: .acquiringAndReleasing) { return }
        channel.eventLoop.execute { [self] in
            scheduled.store(false, ordering: .releasing)
            pump()
        }
    }

    /// Stops writing (the connection is done).
    func stop() {
        state.withLock { $0.stopped = true }
        closeContinuation.finish()
    }

    /// On the event loop: drains and writes until the session has nothing, or the channel holds `highWater`.
    /// A write that completes inside a flush calls back in here; the running pump goes on instead.
    private func pump() {
        let entered = state.withLock { state -> Bool in
            guard !state.pumping, !state.stopped else { return false }
            state.pumping = true
            return true
        }
        guard entered else { return }
        defer { state.withLock { $0.pumping = false } }
        let pipeline = channel.pipeline.syncOperations
        while state.withLock({ !$0.stopped && $0.inFlight < Self.highWater }) {
            let batch = session.drain()
            guard let last = batch.lastIndex(where: { if case .message = $0 { true } else { false } }) else {
                if case .close(let code, let reason)? = batch.first { handOn(code: code, reason: reason) }
                return
            }
            var bytes = 0
            var close: (code: UInt16, reason: String)?
            for (index, item) in batch.enumerated() {
                switch item {
                case .message(let message):
                    bytes += message.count
                    let frame = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: message))
                    let promise = index == last ? channel.eventLoop.makePromise(of: Void.self) : nil
                    pipeline.write(NIOAny(frame), promise: promise)
                    if let promise { watch(promise.futureResult, bytes: bytes) }
                case .close(let code, let reason):
                    close = (code, reason)
                }
            }
            state.withLock { $0.inFlight += bytes }
            pipeline.flush()
            if let close {
                handOn(code: close.code, reason: close.reason)
                return
            }
        }
    }

    /// Writes complete in order, so the batch's last write completing means the whole batch left.
    private func watch(_ written: EventLoopFuture<Void>, bytes: Int) {
        written.whenComplete { [self] result in
            switch result {
            case .success:
                state.withLock { $0.inFlight -= bytes }
                session.sent(bytes)
                pump()
            case .failure:
                // The connection is going away; the reading side ends and closes the session.
                state.withLock { $0.stopped = true }
                closeContinuation.finish()
            }
        }
    }

    private func handOn(code: UInt16, reason: String) {
        state.withLock { $0.stopped = true }
        closeContinuation.yield((code, reason))
        closeContinuation.finish()
    }
}
