/**
 * proto-loader describes each package as one synthetic file ("etcdserverpb.proto",
 * "mvccpb.proto", ...) with no `dependency` list. Within one package that is harmless (all
 * of cairn.v1 is one such file), but etcd's services use types of other packages
 * (mvccpb.KeyValue, authpb.Permission), and reflection clients such as grpcurl refuse a file
 * that names a type from a file it does not import. This adds each file's imports, found
 * from the types it references (grpc-node issue 2595).
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type DescriptorProto, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import type { PackageDefinition } from '@grpc/proto-loader';

export function linkFileDependencies(definitions: PackageDefinition): PackageDefinition {
  const files = new Map<string, FileDescriptorProto>();
  // Every definition lists the same few buffers: each is decoded once.
  const nameOf = new Map<Buffer, string>();
  const lists = Object.values(definitions).flatMap((def) => {
    const protos = (def as { fileDescriptorProtos?: unknown }).fileDescriptorProtos;
    return Array.isArray(protos) ? [protos as Buffer[]] : [];
  });
  for (const bin of lists.flat()) {
    if (nameOf.has(bin)) continue;
    const file = fromBinary(FileDescriptorProtoSchema, bin);
    nameOf.set(bin, file.name);
    if (!files.has(file.name)) files.set(file.name, file);
  }
  // The file of a type name: the one whose package is the longest prefix of it.
  const byPackage = [...files.values()].sort((a, b) => b.package.length - a.package.length);
  const fileOf = (typeName: string): string | undefined => {
    const name = typeName.replace(/^\./, '');
    return byPackage.find((f) => name.startsWith(`${f.package}.`))?.name;
  };
  const encoded = new Map<string, Buffer>();
  for (const file of files.values()) {
    const refs = new Set<string>();
    const visit = (message: DescriptorProto): void => {
      for (const field of message.field) if (field.typeName !== '') refs.add(field.typeName);
      message.nestedType.forEach(visit);
    };
    file.messageType.forEach(visit);
    for (const service of file.service) for (const method of service.method) refs.add(method.inputType).add(method.outputType);
    const deps = new Set(file.dependency);
    for (const ref of refs) {
      const dep = fileOf(ref);
      if (dep !== undefined && dep !== file.name) deps.add(dep);
    }
    file.dependency = [...deps].sort();
    encoded.set(file.name, Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
  }
  for (const list of lists) list.splice(0, list.length, ...list.map((bin) => encoded.get(nameOf.get(bin) ?? '') ?? bin));
  return definitions;
}
