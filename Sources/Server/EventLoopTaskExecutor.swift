import NIOCore

/// Runs a connection's tasks on its channel's event loop instead of the shared task pool.
///
/// A bus client's messages arrive on the event loop. Read by a task on the pool, each one costs a hand-over
/// to another thread and back; with this executor the reading task resumes on the loop that just read the
/// frame, in the same turn of the loop. What those tasks do per message is short and never blocks (parse, check,
/// queue for the event log), as everything run on an event loop must be.
///
/// The hub's event loops live as long as the process, so a job is never handed to a loop that has stopped.
final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
