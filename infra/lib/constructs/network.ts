import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { StageConfig } from '../stages.ts';

export interface NetworkProps {
  readonly config: StageConfig;
}

const INTERFACE_SERVICES = {
  logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  monitoring: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
  xray: ec2.InterfaceVpcEndpointAwsService.XRAY,
  lambda: ec2.InterfaceVpcEndpointAwsService.LAMBDA,
} as const;

/**
 * The VPC the functions run in (they must, to mount EFS): isolated subnets only, no
 * NAT gateway and no internet gateway, so nothing in it can reach the internet. S3
 * (models) and DynamoDB (prediction log) are reached through free gateway endpoints.
 *
 * @example
 * const { vpc } = new Network(this, 'Network', { config: stageConfig('dev') });
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { config } = props;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      // A pinned stage names its zones (an environment-agnostic stack can only get two).
      ...(config.availabilityZones ? { availabilityZones: [...config.availabilityZones] } : { maxAzs: config.maxAzs }),
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: config.logRetentionDays,
      removalPolicy: config.removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    for (const name of config.interfaceEndpoints) {
      this.vpc.addInterfaceEndpoint(`${name}Endpoint`, {
        service: INTERFACE_SERVICES[name],
        privateDnsEnabled: true,
        subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      });
    }
  }
}
