import Foundation
import Testing

extension Line {
    /// SIP over TCP: the same calls as over UDP, stream framing, keep-alives and broken streams.
    @Suite struct TCPTests {
        @Test func aCallOverTCPWithTheSurveyAndTheBotsBye() throws {
            let daemon = try Daemon(sipPort: 25076, rtpPorts: "26400-26499") { callbot, messages in
                callbot = callbot.replacingOccurrences(
                    of: "no_input_timeout_seconds: 6", with: "no_input_timeout_seconds: 5")
                messages = messages.replacingOccurrences(
                    of: #"(?m)^(\s*[\w.]+): ".*"$"#, with: "$1: \"Bip.\"", options: .regularExpression)
            }
            // SIPp's one TCP connection carries the INVITE, the keys' INFO-free call and the bot's BYE.
            let sipp = try daemon.sipp(
                "survey.xml", port: 25067, mediaPort: 26500, variables: ["rtp_port": "26501"], transport: "t1")
            #expect(sipp.status == 0, "\(sipp.output)\n\(daemon.log)")
            let call = try daemon.lastCall()
            #expect(call["survey_score"] as? Int == 5, "\(call)")
            #expect(daemon.stop() == 0)
        }

        @Test func largeMessagesPingsAndBrokenStreams() throws {
            let daemon = try Daemon(sipPort: 25077, rtpPorts: "26600-26699")
            // A raw TCP peer: an 8 KB OPTIONS cut in pieces, a double-CRLF ping, two messages in one
            // segment, then bytes that are not SIP.
            let script = #"""
                import socket, sys, time
                port = int(sys.argv[1])
                def options(branch, padding=0):
                    pad = "".join(f"X-Pad-{i}: {'a' * 100}\r\n" for i in range(padding))
                    return (f"OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-{branch}\r\n"
                            f"From: <sip:t@127.0.0.1>;tag=t\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: {branch}@t\r\n"
                            f"CSeq: 1 OPTIONS\r\n{pad}Content-Length: 0\r\n\r\n").encode()
                def read(s, wait=1.0):
                    s.settimeout(wait); data = b""
                    try:
                        while True:
                            chunk = s.recv(65536)
                            if not chunk: break
                            data += chunk
                    except socket.timeout: pass
                    return data
                s = socket.create_connection(("127.0.0.1", port))
                big = options("big", padding=80)
                for i in range(0, len(big), 1000):
                    s.sendall(big[i:i + 1000]); time.sleep(0.01)
                r = read(s); print("big", len(big), r.split(b"\r\n")[0].decode(), b"branch=z9hG4bK-big" in r)
                s.sendall(b"\r\n\r\n"); print("pong", read(s, 0.5) == b"\r\n")
                s.sendall(options("one") + options("two")); r = read(s)
                print("pair", r.count(b"SIP/2.0 200"), b"z9hG4bK-one" in r and b"z9hG4bK-two" in r)
                s.sendall(b"OPTIONS sip:bot SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-bad\r\nCall-ID: bad@t\r\n"
                          b"CSeq: 1 OPTIONS\r\nFrom: <sip:t@t>;tag=1\r\nTo: <sip:bot@t>\r\n\r\n")
                r = read(s, 2.5); print("bad", r.split(b"\r\n")[0].decode())
                try:
                    s.sendall(options("after")); print("closed", read(s, 1.0) == b"")
                except OSError: print("closed", True)
                """#
            let run = try runProcess("/usr/bin/python3", ["-c", script, "25077"])
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.hasPrefix("big ") && $0.hasSuffix("SIP/2.0 200 OK True") }, "\(run)")
            #expect(lines.contains("pong True"), "\(run)")
            #expect(lines.contains("pair 2 True"), "\(run)")
            #expect(lines.contains("bad SIP/2.0 400 Bad Request"), "a stream without Content-Length: \(run)")
            #expect(lines.contains("closed True"), "the broken stream is closed: \(run)")
            // The daemon still answers calls.
            let sipp = try daemon.sipp("cancel.xml", port: 25068, mediaPort: 26700, transport: "t1")
            #expect(sipp.status == 0, "\(sipp.output)\n\(daemon.log)")
            #expect(daemon.stop() == 0)
        }
    }
}
