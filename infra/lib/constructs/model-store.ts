import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { StageConfig } from '../stages.ts';

export interface ModelStoreProps {
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
}

/** Where the functions mount the EFS cache; MODEL_CACHE_DIR points here. */
export const MODEL_CACHE_MOUNT_PATH = '/mnt/models';
/** The folder inside the file system the access point exposes. */
export const MODEL_CACHE_EFS_PATH = '/models';
/** The POSIX identity every function uses on EFS, so files written by one are readable by all. */
export const MODEL_CACHE_POSIX_USER = { uid: '1000', gid: '1000' } as const;

/**
 * The model registry (S3: immutable bundles and alias files, published by the
 * model-packaging CLI) and the cache the functions load from (EFS, filled from S3 on
 * first use or by the warm-up function). Both encrypted, neither public.
 *
 * @example
 * const store = new ModelStore(this, 'Models', { config, vpc });
 * store.bucket.grantRead(fn);
 */
export class ModelStore extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  readonly fileSystem: efs.FileSystem;
  readonly accessPoint: efs.AccessPoint;

  constructor(scope: Construct, id: string, props: ModelStoreProps) {
    super(scope, id);
    const { config, vpc } = props;
    const removalPolicy = config.removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(config.logRetentionDays) }],
      removalPolicy,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log bucket of the model bucket; logging it into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      // S3-managed keys: bundles are public model weights, and SSE-KMS would add a KMS
      // call (and its quota) to every cold-start download.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'model-bucket/',
      // Bundles are immutable; only overwritten alias files leave old versions behind.
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy,
    });

    this.fileSystem = new efs.FileSystem(this, 'Cache', {
      vpc,
      vpcSubnets: { subnets: vpc.isolatedSubnets },
      encrypted: true,
      throughputMode: efs.ThroughputMode.ELASTIC,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      // A cache: anything on it can be rebuilt from S3, so no backups and no retention.
      enableAutomaticBackups: false,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.accessPoint = this.fileSystem.addAccessPoint('AccessPoint', {
      path: MODEL_CACHE_EFS_PATH,
      createAcl: { ownerUid: MODEL_CACHE_POSIX_USER.uid, ownerGid: MODEL_CACHE_POSIX_USER.gid, permissions: '750' },
      posixUser: MODEL_CACHE_POSIX_USER,
    });
  }
}
