import Foundation
import Testing

extension Line {
    /// Callers who talk: recorded human French (asterisk-core-sounds-fr) streamed by SIPp as
    /// G.711 RTP into `callbotd`, which runs the bundled speech engine.
    @Suite struct SpeechCallTests {
        static let sounds = "/usr/share/asterisk/sounds/fr_CA_f_June/"

        /// The caller's utterances as headerless µ-law (what SIPp's `rtp_stream` sends), and the
        /// scenario with their folder filled in.
        func prepare(_ daemon: Daemon, scenario: String) throws -> String {
            let folder = daemon.folder + "/speech"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let utterances = [
                "goodbye": ["goodbye.wav"],
                "phone": [
                    "digits/0.wav", "digits/6.wav", "digits/12.wav", "digits/30.wav", "digits/40.wav", "digits/50.wav",
                ],
            ]
            for (name, parts) in utterances {
                let run = try runProcess(
                    "/usr/bin/sox",
                    parts.map { Self.sounds + $0 } + ["-t", "ul", "-r", "8000", "-c", "1", folder + "/\(name).ul"])
                guard run.status == 0 else { throw DaemonError(message: "sox: \(run.stderr)") }
            }
            let template = try String(
                contentsOfFile: repositoryRoot + "/Tests/Fixtures/sipp/" + scenario, encoding: .utf8)
            let path = daemon.folder + "/" + scenario
            try template.replacingOccurrences(of: "@SPEECH@", with: folder).write(
                toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// One-word prompts but a long greeting, so that the timing of the caller's turns is certain.
        static func shortPrompts(_ callbot: inout String, _ messages: inout String) {
            let greeting = messages.split(separator: "\n").first { $0.hasPrefix("greeting:") }.map(String.init) ?? ""
            messages = messages.replacingOccurrences(
                of: #"(?m)^(\s*[\w.]+): ".*"$"#, with: "$1: \"Bip.\"", options: .regularExpression)
            messages = messages.replacingOccurrences(of: "greeting: \"Bip.\"", with: greeting)
        }

        func events(_ call: [String: Any]) throws -> [[String: Any]] {
            try #require(call["events"] as? [[String: Any]])
        }

        @Test func aCallerInterruptsTheGreetingAndIsUnderstood() throws {
            let daemon = try Daemon(sipPort: 25090, rtpPorts: "27100-27199", speechPort: 28770, edit: Self.shortPrompts)
            let scenario = try prepare(daemon, scenario: "speech_barge_in.xml")
            let sipp = try daemon.sipp(scenario, port: 25091, mediaPort: 27200, variables: ["rtp_port": "27201"])
            #expect(sipp.status == 0, "\(sipp.output)\n\(daemon.log)")
            #expect(daemon.log.contains("barge-in"), "the greeting was interrupted")
            let call = try daemon.lastCall()
            let heard = try events(call).filter { $0["type"] as? String == "utterance" }
            #expect(heard.count == 1, "\(heard)")
            #expect(heard.first?["intent"] as? String == "au_revoir", "\(heard)")
            #expect((heard.first?["confidence"] as? Double ?? 0) > 0.45)
            #expect((heard.first?["text"] as? String)?.lowercased().contains("revoir") == true, "transcript stored")
            #expect(
                try events(call).contains { $0["type"] as? String == "say" && $0["key"] as? String == "survey.ask" })
            #expect(call["survey_score"] as? Int == 5, "\(call)")
            #expect(daemon.log.contains("turn latency"))
            #expect(daemon.stop() == 0)
        }

        @Test func theSpeechEngineIsRestartedWhenItDies() throws {
            let daemon = try Daemon(sipPort: 25098, rtpPorts: "27900-27999", speechPort: 28773)
            let pid = try #require(
                daemon.log.firstMatch(of: /pid=(\d+) port=28773/).flatMap { Int32($0.1) }, "\(daemon.log)")
            kill(pid, SIGKILL)
            let deadline = Date().addingTimeInterval(60)
            while daemon.log.components(separatedBy: "speech engine ready").count < 3 && Date() < deadline {
                usleep(100_000)
            }
            #expect(daemon.log.contains("speech engine stopped; restarting"), "\(daemon.log)")
            #expect(daemon.log.components(separatedBy: "speech engine ready").count == 3, "ready again: \(daemon.log)")
            #expect(daemon.stop() == 0)
            // Stopped with the daemon.
            #expect(kill(pid, 0) != 0)
            let restarted = daemon.log.matches(of: /pid=(\d+) port=28773/).compactMap { Int32($0.1) }.last
            if let restarted { #expect(kill(restarted, 0) != 0, "the new engine stops with the daemon") }
        }

        /// The speech settings of a deployment whose engine cannot answer.
        static let brokenEngines = [
            // An OpenAI-compatible endpoint nobody listens on.
            "  engine: openai\n  base_url: \"http://127.0.0.1:9/v1\"\n",
            // The bundled engine without its model: known at start, so nothing is waited for.
            "  engine: local\n  model_dir: /nonexistent\n",
        ]

        @Test(arguments: brokenEngines)
        func aBrokenEngineSwitchesTheCallToTheKeypad(_ engine: String) throws {
            let daemon = try Daemon(sipPort: 25094, rtpPorts: "27500-27599") { callbot, messages in
                Self.shortPrompts(&callbot, &messages)
                callbot = callbot.replacingOccurrences(of: "  model_dir: var/models/whisper-base\n", with: "")
                    .replacingOccurrences(of: "  engine: none\n", with: engine)
            }
            let scenario = try prepare(daemon, scenario: "speech_engine_down.xml")
            let sipp = try daemon.sipp(scenario, port: 25095, mediaPort: 27600, variables: ["rtp_port": "27601"])
            #expect(sipp.status == 0, "\(sipp.output)\n\(daemon.log)")
            #expect(daemon.log.contains("speech recognition failed"))
            let call = try daemon.lastCall()
            let types = try events(call).compactMap { $0["type"] as? String }
            let said = try events(call).compactMap { $0["type"] as? String == "say" ? $0["key"] as? String : nil }
            #expect(types.filter { $0 == "speech_unavailable" }.count == 1, "said once: \(types)")
            #expect(!types.contains("utterance"))
            #expect(said.starts(with: ["greeting", "speech.unavailable", "menu", "answer.horaires"]), "\(said)")
            #expect(daemon.stop() == 0)
        }

        /// A question no intent fits, in a human voice: "le temps d'attente est évalué à…"
        /// (queue-holdtime.wav; espeak-ng's voice is not recognisable, and no recording asks what
        /// the demo's fiches answer, so a test fiche answers it beside them). The bundled speech and
        /// embedding engines run; the answer comes from the fiche, is voiced, and is kept.
        @Test func aCallerAsksAQuestionTheKnowledgeBaseAnswersAndHearsTheAnswer() throws {
            let daemon = try Daemon(
                sipPort: 25094, rtpPorts: "27500-27599", speechPort: 28772, embeddingPort: 28773,
                fiches: ["attente-standard.md"]
            ) { callbot, messages in
                Self.shortPrompts(&callbot, &messages)
                messages = messages.replacingOccurrences(of: "  extractive: \"Bip.\"", with: "  extractive: \"{text}\"")
            }
            let folder = daemon.folder + "/speech"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let convert = try runProcess(
                "/usr/bin/sox",
                [Self.sounds + "queue-holdtime.wav", "-t", "ul", "-r", "8000", "-c", "1", folder + "/question.ul"])
            #expect(convert.status == 0, "\(convert.stderr)")
            let template = try String(
                contentsOfFile: repositoryRoot + "/Tests/Fixtures/sipp/speech_knowledge.xml", encoding: .utf8)
            let scenario = daemon.folder + "/speech_knowledge.xml"
            try template.replacingOccurrences(of: "@SPEECH@", with: folder).write(
                toFile: scenario, atomically: true, encoding: .utf8)
            let sipp = try daemon.sipp(scenario, port: 25095, mediaPort: 27600, variables: ["rtp_port": "27601"])
            #expect(sipp.status == 0, "\(sipp.output)\n\(daemon.log)")
            let call = try daemon.lastCall()
            let answer = try events(call).first { $0["type"] as? String == "assistant.answer" }
            #expect(answer?["mode"] as? String == "extractive", "\(call)")
            #expect((answer?["sources"] as? [String])?.first == "attente-standard.md", "\(answer ?? [:])")
            #expect((answer?["answer"] as? String)?.contains("deux minutes") == true, "\(answer ?? [:])")
            #expect((answer?["ms"] as? Int) != nil, "the fallback's latency is kept")
            let said = try events(call).compactMap { $0["type"] as? String == "say" ? $0["key"] as? String : nil }
            #expect(said.contains("assistant.answer"), "\(said)")
            // The answer was voiced: the turn that carried it was timed, end of the question to first audio.
            #expect(daemon.log.contains("turn latency"), "\(daemon.log)")
            #expect(daemon.log.contains("knowledge base embedded"))
            #expect(daemon.stop() == 0)
        }

        @Test func aSpokenPhoneNumberIsReadBackAndKept() throws {
            let daemon = try Daemon(sipPort: 25092, rtpPorts: "27300-27399", speechPort: 28771, edit: Self.shortPrompts)
            let scenario = try prepare(daemon, scenario: "speech_callback.xml")
            let sipp = try daemon.sipp(scenario, port: 25093, mediaPort: 27400, variables: ["rtp_port": "27401"])
            #expect(sipp.status == 0, "\(sipp.output)\n\(daemon.log)")
            let call = try daemon.lastCall()
            let said = try events(call).compactMap { $0["type"] as? String == "say" ? $0["key"] as? String : nil }
            #expect(said.contains("callback.read_back") && said.contains("callback.scheduled"), "\(said)")
            #expect(call["outcome"] as? String == "callback", "\(call)")
            let callbacks = try runProcess(
                binary("callbotctl"),
                ["callbacks", "list", "--db", daemon.database, "--config", daemon.folder + "/config"])
            #expect(
                callbacks.stdout.contains("0612304050") || callbacks.stdout.contains("+33612304050"),
                "\(callbacks.stdout)")
            #expect(!daemon.log.contains("612304050"), "the spoken number is not logged")
            #expect(daemon.stop() == 0)
        }
    }
}
