import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyPatch, type Operation } from 'fast-json-patch';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import { parseAllDocuments, parse } from 'yaml';
import { envSchema, parseConfig } from '../src/config/config.schema';

/**
 * deploy/k8s as `kubectl apply -k` would apply it, checked without a cluster: the base and the
 * overlay are built from their kustomization.yaml (plain resource lists and JSON 6902 patches,
 * applied with fast-json-patch; anything else in a kustomization fails the build rather than
 * being ignored), every object is validated against the Kubernetes API schema (kubernetes-models:
 * the official OpenAPI definitions compiled to validators), and the objects are checked against
 * each other and against the service (probe paths, ports, the drain, the configuration schema).
 */
const K8S = resolve(__dirname, '../deploy/k8s');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  patches?: Array<{ path: string; target: { kind: string; name: string } }>;
}

const KUSTOMIZATION_FIELDS = ['apiVersion', 'kind', 'resources', 'patches'];

/** The resources of a kustomization directory, its patches applied. */
function build(dir: string): Manifest[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const unknown = Object.keys(k).filter((f) => !KUSTOMIZATION_FIELDS.includes(f));
  if (unknown.length > 0)
    throw new Error(`${dir}: unsupported kustomization fields ${unknown.join(', ')}`);
  const resources = (k.resources ?? []).flatMap((entry) => {
    const path = resolve(dir, entry);
    if (statSync(path).isDirectory()) return build(path);
    return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJSON() as Manifest);
  });
  for (const patch of k.patches ?? []) {
    const ops = parse(readFileSync(resolve(dir, patch.path), 'utf8')) as Operation[];
    const targets = resources.filter(
      (r) => r.kind === patch.target.kind && r.metadata.name === patch.target.name,
    );
    if (targets.length !== 1) throw new Error(`${patch.path}: ${targets.length} targets`);
    // validateOperation: a path that does not exist (a remove of a missing key) throws.
    applyPatch(targets[0], ops, true, true);
  }
  return resources;
}

interface Validating {
  validate(): void;
}
const model =
  <T>(Ctor: new (data: T) => Validating) =>
  (doc: Manifest): Validating =>
    new Ctor(doc as T);
/** Every kind the manifests may use, with its API schema. */
const MODELS: Record<string, (doc: Manifest) => Validating> = {
  'v1/ConfigMap': model(ConfigMap),
  'v1/Secret': model(Secret),
  'v1/Service': model(Service),
  'apps/v1/Deployment': model(Deployment),
  'policy/v1/PodDisruptionBudget': model(PodDisruptionBudget),
  'autoscaling/v2/HorizontalPodAutoscaler': model(HorizontalPodAutoscaler),
  'networking.k8s.io/v1/Ingress': model(Ingress),
};

function one<T extends Manifest>(all: Manifest[], kind: string, name?: string): T {
  const found = all.filter(
    (r) => r.kind === kind && (name === undefined || r.metadata.name === name),
  );
  expect({ kind, name, count: found.length }).toEqual({ kind, name, count: 1 });
  return found[0] as T;
}

/** The environment a pod gets: the ConfigMap and the Secret (envFrom). */
function podEnv(all: Manifest[]): Record<string, string> {
  return {
    ...(one<Manifest & IConfigMap>(all, 'ConfigMap').data ?? {}),
    ...(one<Manifest & ISecret>(all, 'Secret').stringData ?? {}),
  };
}

const builds = {
  base: () => build(join(K8S, 'base')),
  'overlays/redis-cluster': () => build(join(K8S, 'overlays/redis-cluster')),
};

describe.each(Object.entries(builds))('deploy/k8s/%s', (_name, buildIt) => {
  const all = buildIt();

  it('validates every object against the Kubernetes API schema', () => {
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const doc of all) {
      const validator = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect({ doc: `${doc.apiVersion}/${doc.kind}`, known: validator !== undefined }).toEqual({
        doc: `${doc.apiVersion}/${doc.kind}`,
        known: true,
      });
      expect(() => validator(doc).validate()).not.toThrow();
    }
  });

  it('gives the pods a configuration the service accepts, the secrets still named as placeholders', () => {
    const env = podEnv(all);
    for (const key of Object.keys(env)) expect(Object.keys(envSchema.shape)).toContain(key);
    const config = parseConfig({ ...env, INSTANCE_ID: 'pod-a' });
    expect(config.admin.port).toBe(9090);
    expect(config.placeholderSecrets).toEqual(['JWT_SECRET', 'SERVICE_API_KEY']);
  });

  it('probes the real health paths, and drains within the grace period', () => {
    const deployment = one<Manifest & IDeployment>(all, 'Deployment');
    const pod = deployment.spec?.template.spec;
    const [container] = pod?.containers ?? [];
    expect(container.readinessProbe?.httpGet).toMatchObject({
      path: '/health/ready',
      port: 'http',
    });
    expect(container.livenessProbe?.httpGet).toMatchObject({ path: '/health/live', port: 'http' });
    const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
    const config = parseConfig({ ...podEnv(all), INSTANCE_ID: 'pod-a' });
    expect(ports).toEqual({ http: config.port, admin: config.admin.port });
    const preStop = container.lifecycle?.preStop?.exec?.command ?? [];
    expect(preStop[0]).toBe('sleep');
    const drainSeconds = Number(preStop[1]) + config.shutdownTimeoutMs / 1000;
    expect(pod?.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(drainSeconds);
    expect(container.resources?.requests).toMatchObject({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(container.resources?.limits).toMatchObject({ memory: expect.any(String) });
    // Each pod its own INSTANCE_ID, the pod's name.
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'INSTANCE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ]),
    );
    const refs = (container.envFrom ?? []).map((e) => e.configMapRef?.name ?? e.secretRef?.name);
    expect(refs.sort()).toEqual(
      [one(all, 'ConfigMap').metadata.name, one(all, 'Secret').metadata.name].sort(),
    );
  });

  it('selects the pods from the Service, the PodDisruptionBudget and the autoscaler', () => {
    const deployment = one<Manifest & IDeployment>(all, 'Deployment');
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    expect(deployment.spec?.selector.matchLabels).toEqual(labels);
    const service = one<Manifest & IService>(all, 'Service');
    expect(labels).toMatchObject(service.spec?.selector ?? { none: 'selector' });
    expect(Object.keys(service.spec?.selector ?? {}).length).toBeGreaterThan(0);
    const containerPorts = (deployment.spec?.template.spec?.containers[0].ports ?? []).map(
      (p) => p.name,
    );
    for (const p of service.spec?.ports ?? []) expect(containerPorts).toContain(p.targetPort);
    const pdb = one<Manifest & IPodDisruptionBudget>(all, 'PodDisruptionBudget');
    expect(labels).toMatchObject(pdb.spec?.selector?.matchLabels ?? { none: 'selector' });
    const hpa = one<Manifest & IHorizontalPodAutoscaler>(all, 'HorizontalPodAutoscaler');
    expect(hpa.spec?.scaleTargetRef).toEqual({
      apiVersion: deployment.apiVersion,
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    // The autoscaler owns the replica count; a fixed one would fight it on every apply.
    expect(deployment.spec?.replicas).toBeUndefined();
  });

  it('routes the Ingress to the public port, unbuffered, sticky, with the operator paths closed', () => {
    const service = one<Manifest & IService>(all, 'Service');
    const ingresses = all.filter((r) => r.kind === 'Ingress') as Array<Manifest & IIngress>;
    const backends = ingresses.flatMap((i) =>
      (i.spec?.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => ({ ingress: i, p }))),
    );
    for (const { p } of backends) {
      expect(p.backend.service?.name).toBe(service.metadata.name);
      // Never the admin port.
      expect(p.backend.service?.port?.name).toBe('http');
      expect(service.spec?.ports?.map((sp) => sp.name)).toContain(p.backend.service?.port?.name);
    }
    const main = backends.find(({ p }) => p.path === '/')?.ingress;
    const a = main?.metadata.annotations ?? {};
    const nginx = (key: string): string | undefined => a[`nginx.ingress.kubernetes.io/${key}`];
    expect(nginx('proxy-buffering')).toBe('off');
    expect(Number(nginx('proxy-read-timeout'))).toBeGreaterThanOrEqual(90);
    expect(Number(nginx('proxy-send-timeout'))).toBeGreaterThanOrEqual(90);
    expect(nginx('affinity')).toBe('cookie');
    expect(nginx('session-cookie-name')).toMatch(/^rt_/);
    // Not the cookie the instances set themselves (rt_node: their name).
    expect(nginx('session-cookie-name')).not.toBe('rt_node');
    for (const path of ['/metrics', '/api/admin']) {
      const closed = backends.find(({ p }) => p.path === path)?.ingress;
      expect({
        path,
        deny: closed?.metadata.annotations?.['nginx.ingress.kubernetes.io/denylist-source-range'],
      }).toEqual({
        path,
        deny: '0.0.0.0/0,::/0',
      });
    }
  });
});

describe('deploy/k8s/overlays/redis-cluster', () => {
  it('sets REDIS_CLUSTER_NODES instead of REDIS_URL, and nothing else', () => {
    const base = podEnv(builds.base());
    const cluster = podEnv(builds['overlays/redis-cluster']());
    expect(cluster.REDIS_URL).toBeUndefined();
    const { REDIS_CLUSTER_NODES: nodes, ...rest } = cluster;
    expect(rest).toEqual(
      Object.fromEntries(Object.entries(base).filter(([k]) => k !== 'REDIS_URL')),
    );
    expect(parseConfig({ ...cluster, INSTANCE_ID: 'pod-a' }).redis.clusterNodes?.length).toBe(
      nodes.split(',').length,
    );
  });
});

/**
 * Where kubectl is installed (not on every machine of this project: CI may skip this), the
 * build above must equal kustomize's own.
 */
const kubectl = ((): boolean => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

(kubectl ? describe : describe.skip)('the build, checked against kubectl kustomize', () => {
  it.each(Object.entries(builds))('%s', (name, buildIt) => {
    const out = execFileSync('kubectl', ['kustomize', join(K8S, name)], { encoding: 'utf8' });
    const theirs = parseAllDocuments(out).map((d) => d.toJSON() as Manifest);
    const key = (m: Manifest): string => `${m.kind}/${m.metadata.name}`;
    const sort = (ms: Manifest[]): Manifest[] =>
      [...ms].sort((x, y) => key(x).localeCompare(key(y)));
    expect(sort(buildIt())).toEqual(sort(theirs));
  });
});

// The Deployment's drain timing must match what the service does: its own default.
it('keeps SHUTDOWN_TIMEOUT_MS in the ConfigMap equal to the service default', () => {
  const env = podEnv(builds.base());
  expect(Number(env.SHUTDOWN_TIMEOUT_MS)).toBe(parseConfig({}).shutdownTimeoutMs);
});
