import { readFileSync } from "node:fs";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type DescriptorProto, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { status as GrpcStatus, type Server, type ServerDuplexStream } from "@grpc/grpc-js";
import { reflectionV1, reflectionV1alpha } from "@fanfare/contracts";

/**
 * gRPC server reflection (v1 and v1alpha) answered from the complete descriptor set that
 * `buf build` writes. @grpc/reflection 1.0.4 answers with descriptors stripped of their
 * dependency lists (grpc-node issues 3018, 3034), so grpcurl and buf curl can list services but
 * not describe or call them; here every answer carries the file and all it imports.
 */
export class DescriptorIndex {
  private readonly encodedFiles = new Map<string, Uint8Array>();
  private readonly dependencies = new Map<string, string[]>();
  private readonly fileBySymbol = new Map<string, string>();
  private readonly serviceNames: string[] = [];

  constructor(descriptorSet: Uint8Array) {
    for (const file of fromBinary(FileDescriptorSetSchema, descriptorSet).file) this.addFile(file);
  }

  static fromFile(path: string): DescriptorIndex {
    return new DescriptorIndex(readFileSync(path));
  }

  services(registered: ReadonlySet<string>): string[] {
    return this.serviceNames.filter((name) => registered.has(name));
  }

  /**
   * The named file and everything it imports, transitively, each once, imports first (the order
   * protoc writes descriptor sets in, which some clients rely on).
   */
  fileWithDependencies(fileName: string): Uint8Array[] | undefined {
    if (!this.encodedFiles.has(fileName)) return undefined;
    const ordered: string[] = [];
    const visit = (name: string) => {
      if (ordered.includes(name)) return;
      for (const dependency of this.dependencies.get(name) ?? []) visit(dependency);
      ordered.push(name);
    };
    visit(fileName);
    return ordered.flatMap((name) => this.encodedFiles.get(name) ?? []);
  }

  fileContainingSymbol(symbol: string): string | undefined {
    return this.fileBySymbol.get(symbol.replace(/^\./, ""));
  }

  private addFile(file: FileDescriptorProto): void {
    this.encodedFiles.set(file.name, toBinary(FileDescriptorProtoSchema, file));
    this.dependencies.set(file.name, file.dependency);
    const prefix = file.package ? `${file.package}.` : "";
    const symbol = (name: string) => this.fileBySymbol.set(name, file.name);
    for (const message of file.messageType) this.addMessage(file.name, `${prefix}${message.name}`, message);
    for (const enumType of file.enumType) symbol(`${prefix}${enumType.name}`);
    for (const extension of file.extension) symbol(`${prefix}${extension.name}`);
    for (const service of file.service) {
      const serviceName = `${prefix}${service.name}`;
      this.serviceNames.push(serviceName);
      symbol(serviceName);
      for (const method of service.method) symbol(`${serviceName}.${method.name}`);
    }
  }

  private addMessage(fileName: string, fullName: string, message: DescriptorProto): void {
    this.fileBySymbol.set(fullName, fileName);
    for (const field of message.field) this.fileBySymbol.set(`${fullName}.${field.name}`, fileName);
    for (const nested of message.nestedType) this.addMessage(fileName, `${fullName}.${nested.name}`, nested);
    for (const enumType of message.enumType) this.fileBySymbol.set(`${fullName}.${enumType.name}`, fileName);
  }
}

// v1 and v1alpha share one message shape, so one answering function serves both.
type ReflectionRequest = reflectionV1.ServerReflectionRequest;
type ReflectionResponse = reflectionV1.ServerReflectionResponse;

export function answerReflectionRequest(
  index: DescriptorIndex,
  registeredServices: ReadonlySet<string>,
  request: ReflectionRequest,
): ReflectionResponse {
  const base = { validHost: request.host, originalRequest: request };
  const files = (found: Uint8Array[] | undefined, what: string): ReflectionResponse =>
    found
      ? { ...base, fileDescriptorResponse: { fileDescriptorProto: found.map((bytes) => Buffer.from(bytes)) } }
      : { ...base, errorResponse: { errorCode: GrpcStatus.NOT_FOUND, errorMessage: `${what} not found` } };

  if (request.listServices !== undefined) {
    return { ...base, listServicesResponse: { service: index.services(registeredServices).map((name) => ({ name })) } };
  }
  if (request.fileByFilename !== undefined) {
    return files(index.fileWithDependencies(request.fileByFilename), `file ${request.fileByFilename}`);
  }
  if (request.fileContainingSymbol !== undefined) {
    const fileName = index.fileContainingSymbol(request.fileContainingSymbol);
    return files(fileName ? index.fileWithDependencies(fileName) : undefined, `symbol ${request.fileContainingSymbol}`);
  }
  if (request.allExtensionNumbersOfType !== undefined) {
    // None of our messages declare extension ranges.
    return { ...base, allExtensionNumbersResponse: { baseTypeName: request.allExtensionNumbersOfType, extensionNumber: [] } };
  }
  return { ...base, errorResponse: { errorCode: GrpcStatus.UNIMPLEMENTED, errorMessage: "request type not supported" } };
}

export function addReflection(server: Server, index: DescriptorIndex, registeredServices: ReadonlySet<string>): void {
  const handler = (call: ServerDuplexStream<ReflectionRequest, ReflectionResponse>) => {
    call.on("data", (request: ReflectionRequest) => call.write(answerReflectionRequest(index, registeredServices, request)));
    call.on("end", () => call.end());
    call.on("error", () => call.end());
  };
  server.addService(reflectionV1.ServerReflectionService, { serverReflectionInfo: handler });
  server.addService(reflectionV1alpha.ServerReflectionService, { serverReflectionInfo: handler });
}
