/** What happens after a change to the bucket, printed (on stderr) after every upload, removal and seed. */
export const SYNC_HINT =
  "GPU nodes sync the change on their own (S3 notification -> LambdaModelsSync -> SSM); 'comfyctl models status' shows how they are doing";
