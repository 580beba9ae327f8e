import { beforeAll, describe, expect, test } from 'vitest';
import { renderedBase } from '../helpers/rendered-manifests';
import { COMFYUI_NAMESPACE, COMFYUI_SERVICE_ACCOUNT, OUTPUTS_KEY_PREFIX } from '../../lib/names';

describe('outputs isolation in the rendered manifests', () => {
  let docs: any[];
  const find = (kind: string, name?: string) => docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  beforeAll(() => {
    docs = renderedBase();
  });

  test("the outputs volume asks the CSI driver for each pod's own credentials, not the driver's", () => {
    const pv = find('PersistentVolume');
    expect(pv.spec.csi.driver).toBe('s3.csi.aws.com');
    expect(pv.spec.csi.volumeAttributes).toEqual({ bucketName: 'studio-comfyui-outputs', authenticationSource: 'pod' });
  });

  test('the volume mounts only the prefix the IAM policy is written for, and allows overwrite but no delete', () => {
    const options: string[] = find('PersistentVolume').spec.mountOptions;
    expect(options).toContain(`prefix ${OUTPUTS_KEY_PREFIX}`);
    expect(options).toContain('allow-overwrite');
    expect(options.filter((o) => /delete/.test(o))).toEqual([]);
  });

  test('ComfyUI pods run as the service account the Pod Identity association names, and ship under their own name', () => {
    expect(find('ServiceAccount', COMFYUI_SERVICE_ACCOUNT).metadata.name).toBe(COMFYUI_SERVICE_ACCOUNT);
    const deployment = find('Deployment', 'comfyui');
    const pod = deployment.spec.template.spec;
    expect(pod.serviceAccountName).toBe(COMFYUI_SERVICE_ACCOUNT);
    expect(find('Kustomization').namespace).toBe(COMFYUI_NAMESPACE);
    // The shipper's folder is the pod's name, which is what the kubernetes-pod-name session tag holds.
    const shipper = pod.initContainers.find((c: any) => c.name === 'output-shipper');
    expect(shipper.env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(shipper.args.some((a: string) => a.startsWith('--prefix'))).toBe(false);
  });

  test('no container of a ComfyUI pod gets the Pod Identity credentials: the webhook skips every one of them', () => {
    const template = find('Deployment', 'comfyui').spec.template;
    const skipped = String(template.metadata.annotations['eks.amazonaws.com/skip-containers']).split(',');
    const containers = [...template.spec.initContainers, ...template.spec.containers].map((c: any) => c.name);
    expect([...skipped].sort()).toEqual([...containers].sort());
    expect(template.spec.automountServiceAccountToken).toBe(false);
  });

  test('two ComfyUI pods never share a node, so they never share a Mountpoint pod (and its credentials)', () => {
    const pod = find('Deployment', 'comfyui').spec.template.spec;
    expect(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'comfyui' } } },
    ]);
  });
});
