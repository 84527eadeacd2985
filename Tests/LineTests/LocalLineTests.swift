import Foundation
import Testing

extension Line {
    /// `callbotd --line local` through PortAudio on an ALSA device of this test's own: a file of
    /// recorded human French as the microphone, a file as the speaker (ALSA's `file` plugin, set
    /// by `ALSA_CONFIG_PATH`; the machine's sound settings are not touched).
    @Suite struct LocalLineTests {
        /// 8 kHz mono samples of a WAV file.
        static func samples(_ path: String) throws -> [Int16] {
            let wav = try readWAV(path)
            #expect(wav.rate == 8000)
            return wav.samples
        }

        static func silence(_ seconds: Double) -> [Int16] { [Int16](repeating: 0, count: Int(seconds * 8000)) }

        /// A key as a phone sends it in-band, its two tones for 150 ms (5: 770 Hz + 1336 Hz).
        static func key(_ low: Double, _ high: Double) -> [Int16] {
            (0..<1200).map { n in
                let t = Double(n) / 8000
                return Int16((sin(2 * .pi * low * t) + sin(2 * .pi * high * t)) * 8000)
            }
        }

        static func raw(_ samples: [Int16]) -> Data {
            samples.withUnsafeBufferPointer { Data(buffer: $0) }  // little-endian on every platform we run on
        }

        /// A folder with an ALSA config whose default device plays `caller` and records into `bot.raw`.
        static func soundDevice(caller: [Int16]) throws -> String {
            let folder = NSTemporaryDirectory() + "callbot-alsa-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Self.raw(caller).write(to: URL(fileURLWithPath: folder + "/caller.raw"))
            let asoundrc = """
                pcm.!default {
                    type asym
                    playback.pcm { type file  slave.pcm { type null }  file "\(folder)/bot.raw"  format "raw" }
                    capture.pcm { type file  slave.pcm { type null }  file "/dev/null"  infile "\(folder)/caller.raw"  format "raw" }
                }
                """
            try asoundrc.write(toFile: folder + "/asound.conf", atomically: true, encoding: .utf8)
            return folder
        }

        @Test func theConsoleTakesKeysAsTones() throws {
            // Keys only (no speech engine): the caller types 1 in-band, then stays silent.
            let folder = try Self.soundDevice(caller: Self.silence(1.5) + Self.key(697, 1209) + Self.silence(40))
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let console = try Daemon(
                sipPort: 25097, rtpPorts: "27800-27899", environment: ["ALSA_CONFIG_PATH": folder + "/asound.conf"],
                ready: "local line open", console: true
            ) { callbot, messages in
                SpeechCallTests.shortPrompts(&callbot, &messages)
                callbot = callbot.replacingOccurrences(
                    of: "no_input_timeout_seconds: 6", with: "no_input_timeout_seconds: 1")
            }
            let deadline = Date().addingTimeInterval(60)
            while console.process.isRunning && Date() < deadline { usleep(100_000) }
            #expect(console.stop() == 0, "\(console.log)")
            let call = try console.lastCall()
            #expect(call["channel"] as? String == "local")
            let events = try #require(call["events"] as? [[String: Any]])
            #expect(
                events.contains { $0["type"] as? String == "digits" && $0["digits"] as? String == "1" }, "\(events)")
            #expect(events.contains { $0["type"] as? String == "say" && $0["key"] as? String == "answer.horaires" })
            #expect(call["outcome"] as? String == "self_service", "\(call)")
        }

        @Test func aCallerTalksAndTypesOnASoundDevice() throws {
            // The caller: silence, "au revoir" over the greeting, silence while it is understood and
            // the survey asked, the key 5.
            let folder = try Self.soundDevice(
                caller: Self.silence(2.5) + (try Self.samples("/usr/share/asterisk/sounds/fr_CA_f_June/goodbye.wav"))
                    + Self.silence(9) + Self.key(770, 1336) + Self.silence(30))
            defer { try? FileManager.default.removeItem(atPath: folder) }

            let daemon = try Daemon(
                sipPort: 25096, rtpPorts: "27700-27799", speechPort: 28772, arguments: ["--line", "local", "--once"],
                environment: ["ALSA_CONFIG_PATH": folder + "/asound.conf"], ready: "local line open"
            ) { callbot, messages in
                SpeechCallTests.shortPrompts(&callbot, &messages)
                // A long no-input timeout: the survey waits for the key whatever the engine's speed.
                callbot = callbot.replacingOccurrences(
                    of: "no_input_timeout_seconds: 6", with: "no_input_timeout_seconds: 20")
            }
            let deadline = Date().addingTimeInterval(90)
            while daemon.process.isRunning && Date() < deadline { usleep(100_000) }
            #expect(!daemon.process.isRunning, "one call, then the daemon stops:\n\(daemon.log)")
            #expect(daemon.stop() == 0, "\(daemon.log)")
            #expect(daemon.log.contains("barge-in"), "the greeting was interrupted:\n\(daemon.log)")

            let call = try daemon.lastCall()
            #expect(call["channel"] as? String == "local", "\(call)")
            let events = try #require(call["events"] as? [[String: Any]])
            let heard = events.filter { $0["type"] as? String == "utterance" }
            #expect(heard.first?["intent"] as? String == "au_revoir", "\(heard)")
            #expect(call["survey_score"] as? Int == 5, "the key typed in-band: \(events)\n\(daemon.log)")
            // The bot spoke on the device: how much of the greeting was played before the barge-in
            // depends on timing, so only a quarter of a second of speech is required.
            let played = try Data(contentsOf: URL(fileURLWithPath: folder + "/bot.raw"))
            let loud = played.withUnsafeBytes { $0.bindMemory(to: Int16.self).filter { abs(Int($0)) > 1000 }.count }
            #expect(loud > 2000, "\(loud) loud samples played")
        }
    }
}
