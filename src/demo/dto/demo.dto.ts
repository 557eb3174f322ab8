import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';

export class DemoPublishDto {
  /** The sender's clock (epoch ms) when it asked: the lab measures publish-to-receive with it. */
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  sentAt!: number;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  title?: string;
}

export class DemoStatusResponse {
  /** DEMO_MODE is on: the lab's publish button and the demo room work. */
  enabled!: boolean;
}

export class DemoPublishResponse {
  id!: string;
  seq!: number;
}
