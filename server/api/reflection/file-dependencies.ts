import type { PackageDefinition } from '@grpc/proto-loader';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type DescriptorProto, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';

/**
 * proto-loader describes each package as one file (`etcdserverpb.proto`, `mvccpb.proto`)
 * and leaves every file's `dependency` list empty. Within one package that is harmless, but
 * etcd's API spans packages (etcdserverpb uses mvccpb.KeyValue and authpb.User), and tools
 * that rebuild descriptors from reflection (grpcurl, via protoreflect) refuse a file whose
 * types name another file it does not import. This fills each file's list from the types it
 * references, so `grpcurl describe` resolves them.
 */
export function withFileDependencies(definition: PackageDefinition): PackageDefinition {
  const files = new Map<string, FileDescriptorProto>();
  for (const entry of Object.values(definition)) {
    for (const bin of fileDescriptorsOf(entry)) {
      const file = fromBinary(FileDescriptorProtoSchema, bin);
      if (!files.has(file.name)) files.set(file.name, file);
    }
  }
  const owner = symbolOwners(files);
  const encoded = new Map<string, Buffer>();
  for (const [name, file] of files) {
    const needed = new Set(file.dependency);
    for (const typeName of referencedTypes(file)) {
      const other = owner.get(typeName.replace(/^\./, ''));
      if (other !== undefined && other !== name) needed.add(other);
    }
    file.dependency = [...needed].sort();
    encoded.set(name, Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
  }
  const out: PackageDefinition = {};
  for (const [key, entry] of Object.entries(definition)) {
    const bins = fileDescriptorsOf(entry);
    const rewritten = bins.map((bin) => encoded.get(fromBinary(FileDescriptorProtoSchema, bin).name) ?? bin);
    // Same kind of definition, only its descriptors replaced.
    out[key] = bins.length === 0 ? entry : Object.assign({}, entry, { fileDescriptorProtos: rewritten });
  }
  return out;
}

function fileDescriptorsOf(entry: PackageDefinition[string]): Buffer[] {
  const bins = (entry as { fileDescriptorProtos?: unknown }).fileDescriptorProtos;
  return Array.isArray(bins) ? (bins as Buffer[]) : [];
}

/** Fully qualified message, enum and service names, each with the file that defines it. */
function symbolOwners(files: Map<string, FileDescriptorProto>): Map<string, string> {
  const owner = new Map<string, string>();
  for (const [name, file] of files) {
    const prefix = file.package === '' ? '' : `${file.package}.`;
    const addMessages = (messages: DescriptorProto[], scope: string): void => {
      for (const m of messages) {
        owner.set(scope + m.name, name);
        for (const e of m.enumType) owner.set(`${scope}${m.name}.${e.name}`, name);
        addMessages(m.nestedType, `${scope}${m.name}.`);
      }
    };
    addMessages(file.messageType, prefix);
    for (const e of file.enumType) owner.set(prefix + e.name, name);
    for (const s of file.service) owner.set(prefix + s.name, name);
  }
  return owner;
}

/** Every type a file's fields and methods name (fully qualified, with a leading dot). */
function referencedTypes(file: FileDescriptorProto): string[] {
  const names: string[] = [];
  const visit = (messages: DescriptorProto[]): void => {
    for (const m of messages) {
      for (const f of m.field) if (f.typeName !== '') names.push(f.typeName);
      visit(m.nestedType);
    }
  };
  visit(file.messageType);
  for (const s of file.service) for (const method of s.method) names.push(method.inputType, method.outputType);
  return names;
}
