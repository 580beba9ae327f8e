import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../lambda/model-sync/config';

const env = {
  MODELS_BUCKET: 'models',
  CLUSTER_NAME: 'comfyui',
  NODE_POOLS: 'comfyui-single-gpu, comfyui-multi-gpu,comfyui-single-gpu',
  SYNC_DOCUMENT_NAME: 'ComfyUI-SyncModels',
  SYNC_LOG_GROUP: '/comfyui/comfyui/model-sync',
};

describe('readConfig', () => {
  it('reads every variable and normalizes the node pool list', () => {
    expect(readConfig(env)).toEqual({
      modelsBucket: 'models',
      clusterName: 'comfyui',
      nodePools: ['comfyui-single-gpu', 'comfyui-multi-gpu'],
      syncDocumentName: 'ComfyUI-SyncModels',
      syncLogGroup: '/comfyui/comfyui/model-sync',
    });
  });

  it.each(['MODELS_BUCKET', 'CLUSTER_NAME', 'NODE_POOLS', 'SYNC_DOCUMENT_NAME', 'SYNC_LOG_GROUP'])(
    'names %s when it is missing or blank',
    (name) => {
      expect(() => readConfig({ ...env, [name]: undefined })).toThrow(`Environment variable ${name} is not set`);
      expect(() => readConfig({ ...env, [name]: '  ' })).toThrow(`Environment variable ${name} is not set`);
    },
  );

  it('rejects node pool names Kubernetes would not accept, quoting the bad one', () => {
    expect(() => readConfig({ ...env, NODE_POOLS: 'gpu,Bad_Pool' })).toThrow("('Bad_Pool' is not a valid name)");
    expect(() => readConfig({ ...env, NODE_POOLS: ',' })).toThrow("NODE_POOLS must be comma-separated");
  });
});
