# What the services' roles need (attach to their IRSA / task roles).

data "aws_iam_policy_document" "media" {
  statement {
    sid       = "MediaObjects"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.media.arn}/*"]
  }
  statement {
    sid       = "MediaBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.media.arn]
  }
  statement {
    sid       = "TakedownInvalidations"
    actions   = ["cloudfront:CreateInvalidation"]
    resources = [aws_cloudfront_distribution.photos.arn]
  }
}

resource "aws_iam_policy" "media" {
  name   = "shutter-media"
  policy = data.aws_iam_policy_document.media.json
}

data "aws_iam_policy_document" "edge" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.media.arn}/*"]
  }
}

resource "aws_iam_policy" "edge" {
  name   = "shutter-edge-readonly"
  policy = data.aws_iam_policy_document.edge.json
}

# For whoever runs `url-signer keys register|rotate` (an operator or a job).
data "aws_iam_policy_document" "key_rotation" {
  statement {
    actions = [
      "cloudfront:CreatePublicKey", "cloudfront:GetPublicKey", "cloudfront:ListPublicKeys", "cloudfront:DeletePublicKey",
      "cloudfront:CreateKeyGroup", "cloudfront:GetKeyGroup", "cloudfront:ListKeyGroups", "cloudfront:UpdateKeyGroup",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "key_rotation" {
  name   = "shutter-cloudfront-key-rotation"
  policy = data.aws_iam_policy_document.key_rotation.json
}
