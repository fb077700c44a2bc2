import Config
import EventLog
import Foundation
import HubCore
import Logging
import SQLiteStore
import Synchronization

/// One webhook sink: a durable consumer of the log (`sink/<name>`) that POSTs each matching event to a service.
///
/// Events go out one at a time in sequence order; the next is sent only after the service answered 2xx for the
/// previous one, or after it was moved to the dead-letter list. The cursor moves after each of those, so a crash
/// repeats at most the event that was in flight (and, since the cursor is stored with the log's next commit, the
/// few before it): at least once, in order.
///
/// Wire format: the CloudEvents HTTP binding in structured mode. The body is the event as the bus delivers it
/// (CloudEvents JSON with the hub's `sequence` extension attribute) and Content-Type is
/// `application/cloudevents+json; charset=utf-8`.
package final class Sink: Sendable {
    package let settings: SinkSettings
    /// The name of its cursor among the log's durable consumers. `/` cannot occur in a bus consumer's name, so no
    /// bus client can take a sink's cursor over.
    package let consumer: String
    private let patterns: [TopicPattern]
    private let poster: HTTPPoster
    private let log: EventLog
    private let deadLetters: DeadLetters
    private let logger: Logger
    private let state = Mutex(State())

    /// What the status API shows.
    struct State: Sendable {
        var delivered: UInt64 = 0
        var failedAttempts: UInt64 = 0
        var deadLettered: UInt64 = 0
        var lastDelivered: UInt64?
        var lastError: String?
        var lastErrorMs: Int64?
        /// The event being retried and its attempts so far.
        var retrying: (sequence: UInt64, attempts: Int)?
        /// Staff asked to send the dead letters again; the delivery loop takes them before new events.
        var resendRequested = false
        var resent: UInt64 = 0
    }

    /// How often an idle sink looks for new events.
    static let idlePoll: Duration = .milliseconds(50)

    package init(settings: SinkSettings, log: EventLog, deadLetters: DeadLetters, configDirectory: URL, logger: Logger)
        throws
    {
        self.settings = settings
        consumer = "sink/\(settings.name)"
        patterns = try settings.topics.map { try TopicPattern(validating: $0) }
        let caFile = settings.caFile.map {
            URL(fileURLWithPath: $0, relativeTo: configDirectory).standardizedFileURL.path
        }
        poster = try HTTPPoster(
            url: settings.url, headers: settings.headers,
            timeout: .milliseconds(Int64(settings.timeoutSeconds * 1000)), caFile: caFile)
        self.log = log
        self.deadLetters = deadLetters
        self.logger = logger
    }

    /// Delivers until cancelled. A sink seen for the first time starts after the newest event in the log: it gets
    /// what happens from now on, not the log's history.
    package func run() async {
        var cursor: UInt64
        if let stored = log.cursor(for: consumer) {
            cursor = stored
        } else {
            cursor = log.sequenceBounds.last
            log.acknowledge(consumer: consumer, sequence: cursor)
        }
        logger.info(
            "sink \(settings.name): delivering \(settings.topics.joined(separator: ", ")) to \(settings.displayURL) after sequence \(cursor)"
        )
        while !Task.isCancelled {
            let resend = state.withLock { state in
                let asked = state.resendRequested
                state.resendRequested = false
                return asked
            }
            if resend {
                guard await sendDeadLettersAgain() else { return }
            }
            if log.sequenceBounds.last <= cursor {
                do {
                    try await Task.sleep(for: Self.idlePoll)
                } catch {
                    return
                }
                continue
            }
            let batch: [StoredEvent]
            let scanned: UInt64
            do {
                let read = try log.read(after: cursor, limit: 256)
                batch = read.events
                scanned = read.scannedThrough
            } catch {
                logger.error("sink \(settings.name): cannot read the event log: \(error)")
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            for event in batch where patterns.contains(where: { $0.matches(event.topic) }) {
                let outcome = await deliver(sequence: event.sequence, topic: event.topic, body: event.json)
                guard outcome != .cancelled else { return }
                cursor = event.sequence
                log.acknowledge(consumer: consumer, sequence: cursor)
            }
            if scanned > cursor {
                // Events of other topics: skip them for good, so a restart does not read them again.
                cursor = scanned
                log.acknowledge(consumer: consumer, sequence: cursor)
            }
        }
    }

    /// Asks the delivery loop to send every dead letter of this sink again, oldest first, before new events (with
    /// the same retries; one that fails again goes back on the list). Returns how many there are now.
    package func resendDeadLetters() throws(SQLiteError) -> Int {
        let count = try deadLetters.list(sink: settings.name, limit: 0).count
        if count > 0 { state.withLock { $0.resendRequested = true } }
        return count
    }

    /// Deletes this sink's dead letters for good; returns how many there were.
    package func discardDeadLetters() throws(SQLiteError) -> Int {
        let removed = try deadLetters.remove(sink: settings.name)
        if removed > 0 { logger.notice("sink \(settings.name): \(removed) dead letters deleted at a staff request") }
        return removed
    }

    /// Sends the dead letters again; false only when cancelled.
    private func sendDeadLettersAgain() async -> Bool {
        let entries: [DeadLetters.Entry]
        do {
            entries = try deadLetters.all(sink: settings.name)
        } catch {
            logger.error("sink \(settings.name): cannot read the dead-letter list to send it again: \(error)")
            return true
        }
        logger.notice("sink \(settings.name): sending \(entries.count) dead letters again")
        var delivered = 0
        for entry in entries {
            switch await deliver(sequence: entry.sequence, topic: entry.topic, body: entry.event) {
            case .cancelled: return false
            case .deadLettered: continue  // its entry was updated
            case .delivered: break
            }
            do {
                try deadLetters.remove(sink: settings.name, sequence: entry.sequence)
            } catch {
                logger.error(
                    "sink \(settings.name): event \(entry.sequence) was delivered but stays on the dead-letter list: \(error)"
                )
            }
            delivered += 1
            state.withLock { $0.resent += 1 }
        }
        logger.notice(
            "sink \(settings.name): \(delivered) of \(entries.count) dead letters delivered; \(entries.count - delivered) stay on the list"
        )
        return true
    }

    /// What became of one event.
    private enum Outcome {
        case delivered
        case deadLettered
        /// The sink was stopped: the event is neither delivered nor dead-lettered.
        case cancelled
    }

    /// Tries one event until the service takes it or the attempts run out (then it is dead-lettered).
    private func deliver(sequence: UInt64, topic: String, body: [UInt8]) async -> Outcome {
        var backoff = Backoff(initial: settings.retryDelaySeconds, maximum: settings.maxRetryDelaySeconds)
        var attempts = 0
        while true {
            attempts += 1
            let problem: String
            do {
                let status = try await poster.post(body)
                if (200..<300).contains(status) {
                    state.withLock { state in
                        state.delivered += 1
                        state.lastDelivered = sequence
                        state.retrying = nil
                    }
                    if attempts > 1 {
                        logger.notice(
                            "sink \(settings.name): event \(sequence) delivered after \(attempts) attempts")
                    }
                    return .delivered
                }
                problem = "HTTP \(status)"
            } catch {
                if Task.isCancelled { return .cancelled }
                problem = "\(error)"
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            state.withLock { state in
                state.failedAttempts += 1
                state.lastError = problem
                state.lastErrorMs = now
                state.retrying = (sequence, attempts)
            }
            if attempts >= settings.maxAttempts {
                let stored = await deadLetter(
                    sequence: sequence, topic: topic, body: body, attempts: attempts, problem: problem, now: now)
                return stored ? .deadLettered : .cancelled
            }
            let delay = backoff.next()
            if attempts == 1 {
                logger.warning(
                    "sink \(settings.name): event \(sequence) (\(topic)) not delivered to \(settings.displayURL): \(problem); retrying"
                )
            } else {
                logger.debug("sink \(settings.name): attempt \(attempts) failed: \(problem); next in \(delay) s")
            }
            do {
                try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
            } catch {
                return .cancelled
            }
        }
    }

    /// Stores the event on the dead-letter list; false only when cancelled before it could.
    private func deadLetter(
        sequence: UInt64, topic: String, body: [UInt8], attempts: Int, problem: String, now: Int64
    ) async -> Bool {
        let entry = DeadLetters.Entry(
            sink: settings.name, sequence: sequence, topic: topic, attempts: attempts, lastError: problem,
            failedMs: now, event: body)
        while true {
            do {
                try deadLetters.add(entry)
                break
            } catch {
                // The event must not be skipped before it is on the list; a locked or full disk is retried.
                logger.error("sink \(settings.name): cannot store dead letter \(sequence): \(error)")
                do {
                    try await Task.sleep(for: .seconds(1))
                } catch {
                    return false
                }
            }
        }
        state.withLock { state in
            state.deadLettered += 1
            state.retrying = nil
        }
        logger.error(
            "sink \(settings.name): event \(sequence) (\(topic)) moved to the dead-letter list after \(attempts) attempts: \(problem)"
        )
        return true
    }

    /// The sink's state for the status API: never its headers.
    package func status(lastSequence: UInt64, deadLetterLimit: Int = 50) -> JSONValue {
        let current = state.withLock { $0 }
        let cursor = log.cursor(for: consumer) ?? 0
        var row: [String: JSONValue] = [
            "name": .string(settings.name), "url": .string(settings.displayURL),
            "topics": .array(settings.topics.map { .string($0) }), "acked": .int(Int64(cursor)),
            "behind": .int(Int64(lastSequence > cursor ? lastSequence - cursor : 0)),
            "delivered": .int(Int64(current.delivered)), "failedAttempts": .int(Int64(current.failedAttempts)),
            "maxAttempts": .int(Int64(settings.maxAttempts)),
            "lastDelivered": current.lastDelivered.map { .int(Int64($0)) } ?? .null,
            "lastError": current.lastError.map { .string($0) } ?? .null,
            "lastErrorMs": current.lastErrorMs.map { .int($0) } ?? .null,
            "state": .string(current.retrying == nil ? "ok" : "retrying"),
            "deadLettersResent": .int(Int64(current.resent)),
        ]
        if let retrying = current.retrying {
            row["retrying"] = .object([
                "sequence": .int(Int64(retrying.sequence)), "attempts": .int(Int64(retrying.attempts)),
            ])
        }
        do {
            let (count, newest) = try deadLetters.list(sink: settings.name, limit: deadLetterLimit)
            row["deadLetterCount"] = .int(Int64(count))
            row["deadLetters"] = .array(
                newest.map { entry in
                    let event = (try? JSONDecoder().decode(JSONValue.self, from: Data(entry.event))) ?? .null
                    return .object([
                        "sequence": .int(Int64(entry.sequence)), "topic": .string(entry.topic),
                        "attempts": .int(Int64(entry.attempts)), "lastError": .string(entry.lastError),
                        "failedMs": .int(entry.failedMs), "event": event,
                    ])
                })
        } catch {
            row["deadLetterError"] = .string("\(error)")
        }
        return .object(row)
    }
}

/// Every configured sink, run together; what the hub starts and the status API asks.
package final class SinkSet: Sendable {
    package let sinks: [Sink]
    private let log: EventLog

    package init(
        settings: [SinkSettings], log: EventLog, databasePath: String, configDirectory: URL, logger: Logger
    ) throws {
        self.log = log
        if settings.isEmpty {
            sinks = []
            return
        }
        let deadLetters = try DeadLetters(path: databasePath)
        sinks = try settings.map {
            try Sink(settings: $0, log: log, deadLetters: deadLetters, configDirectory: configDirectory, logger: logger)
        }
    }

    /// Runs every sink until cancelled.
    package func run() async {
        await withTaskGroup(of: Void.self) { group in
            for sink in sinks {
                group.addTask { await sink.run() }
            }
        }
    }

    /// What a staff request did to a sink's dead letters.
    package enum DeadLetterRequest: Sendable {
        /// Send them again, oldest first, before new events.
        case resend
        /// Delete them.
        case discard
    }

    /// Carries out `request` for the sink named `name`: the number of dead letters it concerned, nil for no such
    /// sink.
    package func handle(_ request: DeadLetterRequest, sink name: String) throws(SQLiteError) -> Int? {
        guard let sink = sinks.first(where: { $0.settings.name == name }) else { return nil }
        switch request {
        case .resend: return try sink.resendDeadLetters()
        case .discard: return try sink.discardDeadLetters()
        }
    }

    /// `{"sinks": [...]}` for GET /api/v1/sinks.
    package func status() -> JSONValue {
        let last = log.sequenceBounds.last
        return .object(["sinks": .array(sinks.map { $0.status(lastSequence: last) })])
    }
}
