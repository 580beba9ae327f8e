import { CfnOutput, CfnWaitConditionHandle, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';
import { AppConfig, DataRemovalPolicy } from '../config';
import { ECR_REPOSITORY_NAME, OUTPUT_KEYS } from '../names';
import { toRemovalPolicy } from '../removal';

export interface EcrRepoStackProps extends StackProps {
  readonly config: AppConfig;
}

/**
 * How many tagged images to keep; older ones expire so the repository's storage stays bounded. Each version
 * is four images (ComfyUI for thread mode, ComfyUI for process mode, the model gate, the job runner:
 * comfyui_image/build_and_push.sh), so this keeps the newest ten versions.
 */
const IMAGES_PER_VERSION = 4;
const KEEP_VERSIONS = 10;
const KEEP_IMAGES = IMAGES_PER_VERSION * KEEP_VERSIONS;

/** `ComfyuiEcrRepo`: where `comfyui_image/` is pushed; nodes pull from it. */
export class EcrRepoStack extends Stack {
  readonly repository: ecr.IRepository;

  constructor(scope: Construct, id: string, props: EcrRepoStackProps) {
    super(scope, id, props);
    if (props.config.adoptRetainedData) {
      // A repository retained by an earlier `cdk destroy` keeps its images, scanning and lifecycle rules.
      this.repository = ecr.Repository.fromRepositoryName(this, 'Repository', ECR_REPOSITORY_NAME);
      // CloudFormation refuses a template without resources; this no-op one keeps the stack (and its output).
      new CfnWaitConditionHandle(this, 'AdoptedRepository');
    } else {
      this.repository = this.createRepository(props.config.dataRemovalPolicy);
    }

    new CfnOutput(this, OUTPUT_KEYS.ecrRepositoryUri, { value: this.repository.repositoryUri });
  }

  private createRepository(dataRemovalPolicy: DataRemovalPolicy): ecr.Repository {
    return new ecr.Repository(this, 'Repository', {
      repositoryName: ECR_REPOSITORY_NAME,
      imageScanOnPush: true,
      // Immutable tags: a deployed tag always means the same image, so manifests pin by tag safely.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      encryption: ecr.RepositoryEncryption.AES_256,
      removalPolicy: toRemovalPolicy(dataRemovalPolicy),
      emptyOnDelete: dataRemovalPolicy === 'destroy',
      lifecycleRules: [
        { description: 'Drop untagged layers after a day', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(1) },
        { description: `Keep the newest ${KEEP_IMAGES} images`, tagStatus: ecr.TagStatus.ANY, maxImageCount: KEEP_IMAGES },
      ],
    });
  }
}
