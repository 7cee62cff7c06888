// Small clients for the protocol tests: websocket (ws), gRPC (grpc-js) and
// HTTP/2 (node:http2), each speaking to Envoy's listener on loopback.
import type http2 from "node:http2";
import grpc from "@grpc/grpc-js";
import WebSocket from "ws";
import { echoPackage, type EchoReply } from "../../examples/upstreams/grpc-echo.ts";

/** A websocket whose messages are queued, so none is lost between awaits. */
export class WsClient {
  readonly messages: string[] = [];
  private wake = () => {};
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => {
      this.messages.push(d.toString());
      this.wake();
    });
  }

  /** Resolves once the upgrade succeeded; rejects with the HTTP status otherwise ("Unexpected server response: 426"). */
  static open(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    const ws = new WebSocket(url, { headers });
    // listen before "open": the greeting may arrive with the handshake
    const c = new WsClient(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(c));
      ws.once("error", reject);
    });
  }

  /** The n-th message (0-based), waiting for it up to timeoutMs. */
  nth(n: number, timeoutMs = 5000): Promise<string> {
    if (this.messages.length > n) return Promise.resolve(this.messages[n]);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`websocket: ${this.messages.length} message(s), waited for #${n}`)), timeoutMs);
      this.wake = () => {
        if (this.messages.length > n) {
          clearTimeout(t);
          this.wake = () => {};
          resolve(this.messages[n]);
        }
      };
    });
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 2000);
      this.ws.once("close", () => {
        clearTimeout(t);
        resolve();
      });
      this.ws.close();
    });
  }
}

export type GrpcError = Error & { code: number; details: string; metadata: grpc.Metadata };

export function echoClient(target: string, creds = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): any {
  const pkg = echoPackage();
  return new pkg.Echo(target, creds, options);
}

export function unary(client: any, message: string, deadlineMs = 10_000): Promise<EchoReply> {
  return new Promise((resolve, reject) =>
    client.Echo({ message }, { deadline: Date.now() + deadlineMs }, (err: GrpcError | null, r: EchoReply) => (err ? reject(err) : resolve(r))),
  );
}

/** echo.Echo/Repeat: every reply of the server stream, or the stream's error. */
export function repeat(client: any, message: string, count: number, intervalMs = 0): Promise<EchoReply[]> {
  return new Promise((resolve, reject) => {
    const got: EchoReply[] = [];
    const call = client.Repeat({ message, count, interval_ms: intervalMs });
    call.on("data", (r: EchoReply) => got.push(r));
    call.on("error", reject);
    call.on("end", () => resolve(got));
  });
}

/** echo.Echo/EchoStream: writes each message after the previous reply came back. */
export function pingPong(client: any, messages: string[]): Promise<EchoReply[]> {
  return new Promise((resolve, reject) => {
    const got: EchoReply[] = [];
    const call = client.EchoStream();
    call.on("data", (r: EchoReply) => {
      got.push(r);
      if (got.length < messages.length) call.write({ message: messages[got.length] });
      else call.end();
    });
    call.on("error", reject);
    call.on("end", () => resolve(got));
    call.write({ message: messages[0] });
  });
}

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** One request on an HTTP/2 session (prior knowledge h2c when the session is http://). */
export function h2request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    let out = "";
    let head: http2.IncomingHttpHeaders = {};
    req.setEncoding("utf8");
    req.on("response", (h) => (head = h));
    req.on("data", (c: string) => (out += c));
    req.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: out }));
    req.on("error", reject);
    if (body !== undefined) req.end(body);
  });
}
