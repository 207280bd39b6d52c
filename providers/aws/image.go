package aws

import (
	"context"
	"fmt"
	"regexp"
	"sort"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/skyplan/skyplan/internal/catalog"
)

// canonicalOwner is Canonical's AWS account, publisher of the Ubuntu AMIs.
const canonicalOwner = "099720109477"

type imageChoice struct {
	ID             string
	RootDeviceName string
}

// gravitonFamily matches arm64 families: a 'g' after the generation digit
// (m6g, c7gn, t4g, g5g, is4gen), but not the x86 GPU family g5 itself.
var gravitonFamily = regexp.MustCompile(`^[a-z-]+[0-9]+[a-z]*g[a-z]*$`)

func archFor(instanceType string) string {
	if gravitonFamily.MatchString(catalog.Family(CloudName, instanceType)) {
		return "arm64"
	}
	return "x86_64"
}

// resolveImage returns the image to boot. A user-set image is checked to
// exist (and gives the root device name); otherwise the newest Ubuntu 22.04
// from Canonical for the architecture, falling back to any Canonical Ubuntu
// image, then any Amazon image (emulators carry few images). The choice is
// deterministic: newest creation date, then highest name. It is looked up
// once per run for each region, image and architecture, however many
// creates ask at once.
func (p *Provider) resolveImage(ctx context.Context, addr, region, image, instanceType string) (imageChoice, error) {
	arch := archFor(instanceType)
	c, err := p.images.get(region+"|"+image+"|"+arch, func() (imageChoice, error) {
		return p.lookupImage(ctx, region, image, arch)
	})
	if err != nil {
		return imageChoice{}, withAddress(addr, err)
	}
	return c, nil
}

func (p *Provider) lookupImage(ctx context.Context, region, image, arch string) (imageChoice, error) {
	client, err := p.ec2Client(ctx, region)
	if err != nil {
		return imageChoice{}, err
	}
	if image != "" {
		out, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{image}})
		if err != nil {
			return imageChoice{}, wrapErr("", "DescribeImages "+image, region, err)
		}
		if len(out.Images) == 0 {
			return imageChoice{}, fmt.Errorf("image %q not found in %s", image, region)
		}
		return choice(out.Images[0]), nil
	}
	searches := []ec2.DescribeImagesInput{
		{Owners: []string{canonicalOwner}, Filters: []ec2types.Filter{
			filter("name", "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-*-server-*"),
			filter("architecture", arch), filter("state", "available")}},
		{Owners: []string{canonicalOwner}, Filters: []ec2types.Filter{
			filter("name", "ubuntu/images/*"), filter("architecture", arch), filter("state", "available")}},
		{Owners: []string{"amazon"}, Filters: []ec2types.Filter{
			filter("architecture", arch), filter("state", "available")}},
	}
	for _, in := range searches {
		var all []ec2types.Image
		pages := ec2.NewDescribeImagesPaginator(client, &in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return imageChoice{}, wrapErr("", "DescribeImages", region, err)
			}
			all = append(all, page.Images...)
		}
		if len(all) > 0 {
			sort.Slice(all, func(i, j int) bool {
				a, b := all[i], all[j]
				if da, db := awssdk.ToString(a.CreationDate), awssdk.ToString(b.CreationDate); da != db {
					return da > db
				}
				return awssdk.ToString(a.Name) > awssdk.ToString(b.Name)
			})
			return choice(all[0]), nil
		}
	}
	return imageChoice{}, fmt.Errorf("no Ubuntu 22.04 (%s) image found in %s; set `image` to an AMI ID", arch, region)
}

func choice(img ec2types.Image) imageChoice {
	root := awssdk.ToString(img.RootDeviceName)
	if root == "" {
		root = "/dev/sda1"
	}
	return imageChoice{ID: awssdk.ToString(img.ImageId), RootDeviceName: root}
}

func filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: awssdk.String(name), Values: values}
}
