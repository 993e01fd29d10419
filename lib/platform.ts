import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { MysqlDatabase } from './components/mysql';
import { PlatformConfig } from './config/schema';
import { KfkitContext } from './core/context';
import { IDatabase } from './core/database';
import { ImageCatalog } from './core/images';
import { PlatformNamespace } from './core/namespace';

/** Props of {@link KubeflowPlatform}. */
export interface KubeflowPlatformProps {
  /** The validated configuration (see `resolveConfig` / `loadOverlay`). */
  readonly config: PlatformConfig;
}

/**
 * The whole platform as one construct tree: configuration in, components wired by typed references, manifests
 * out. Data flows one way — the config is read here and turned into component props; components never read it.
 */
export class KubeflowPlatform extends Chart {
  /** Platform-wide services (image catalog, install plan). */
  public readonly context: KfkitContext;
  /** The platform namespace. */
  public readonly platformNamespace: PlatformNamespace;
  /** The metadata database. */
  public readonly database: IDatabase;

  public constructor(scope: Construct, id: string, props: KubeflowPlatformProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const config = props.config;
    this.context = KfkitContext.create(this, {
      images: new ImageCatalog({ registryMirror: config.images.registryMirror, pullSecrets: config.images.pullSecrets }),
    });
    this.platformNamespace = new PlatformNamespace(this, 'Namespace', { name: config.namespace });
    this.database = new MysqlDatabase(this, 'MetadataDatabase', {
      namespace: this.platformNamespace.name,
      storageSize: config.database.storage.size,
      storageClass: config.database.storage.storageClass,
      resources: config.database.resources,
    });
  }
}
