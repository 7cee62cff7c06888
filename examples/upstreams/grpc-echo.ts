// Demo gRPC upstream (examples/upstreams/echo.proto): echo.Echo/Echo (unary)
// and echo.Echo/EchoStream (bidi). Plaintext HTTP/2 (APISIX scheme "grpc").
//   NAME=grpc-echo PORT=50051 node --import tsx examples/upstreams/grpc-echo.ts
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

export const ECHO_PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), "echo.proto");

export interface EchoRequest { message: string }
export interface EchoReply { message: string; server: string; authority: string }

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function echoPackage(): any {
  const def = protoLoader.loadSync(ECHO_PROTO, { keepCase: true, defaults: true });
  return (grpc.loadPackageDefinition(def) as Record<string, unknown>).echo;
}

export function startGrpcEcho(opts: { name: string; port?: number; host?: string }): Promise<{ port: number; close(): Promise<void> }> {
  const pkg = echoPackage();
  const server = new grpc.Server();
  // grpc-js keeps :authority out of the metadata; getHost() returns it
  const authority = (call: { getHost(): string }) => call.getHost();
  server.addService(pkg.Echo.service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      cb(null, { message: call.request.message, server: opts.name, authority: authority(call) });
    },
    EchoStream: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
      call.on("data", (req: EchoRequest) => call.write({ message: req.message, server: opts.name, authority: authority(call) }));
      call.on("end", () => call.end());
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(`${opts.host ?? "0.0.0.0"}:${opts.port ?? 50051}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(err);
      resolve({ port, close: () => new Promise<void>((r) => server.tryShutdown(() => r())) });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const name = process.env.NAME ?? "grpc-echo";
  const s = await startGrpcEcho({ name, port: Number(process.env.PORT ?? 50051) });
  console.log(`grpc-echo ${name} listening on :${s.port}`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
