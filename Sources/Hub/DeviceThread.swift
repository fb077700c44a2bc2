import Foundation

/// A thread of its own for one device's work: capture, decoding, face landmarks, rendering and JPEG run here, not
/// on Swift's cooperative thread pool. The pool has one thread per CPU; a mirror's frame loop computes for tens
/// of milliseconds at a time, so on a one-CPU box (or two mirrors on two CPUs) it would hold every pool thread and
/// the HTTP server, the bus and the watchdog would wait behind it. A device pipeline runs its `work` with this
/// executor as its task executor preference (`withTaskExecutorPreference`), so the kernel schedules the device's
/// thread beside the pool's instead of the pool waiting for it.
final class DeviceThread: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private var thread: pthread_t?

    init() {
        let thread = Thread { [self] in
            condition.lock()
            self.thread = pthread_self()
            condition.unlock()
            loop()
        }
        thread.start()
    }

    /// Whether the caller runs on this device's thread.
    var isCurrent: Bool {
        condition.lock()
        defer { condition.unlock() }
        return thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread once its queue is empty. Call it when no task prefers this executor any more.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        var batch: [UnownedJob] = []
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            swap(&batch, &jobs)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
