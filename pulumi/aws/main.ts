// Entry point of the cloud stack (pulumi/aws/Pulumi.yaml `main`; node loads it through tsx, `nodeargs`).
import * as pulumi from '@pulumi/pulumi';
import { cloudProgram } from './program';

/** The stack output the platform stack reads with a StackReference (`kfkit:cloudStack`). */
export const cloud = cloudProgram(pulumi.getStack(), new pulumi.Config('kfkit')).cloud;
