// class-transformer publishes its metadata storage's types apart from the module (types/ beside cjs/).
declare module 'class-transformer/cjs/storage' {
  export { defaultMetadataStorage } from 'class-transformer/types/storage';
}
